// The viewer: plays /hls/<streamId>/index.m3u8 with hls.js in low-latency mode (LL-HLS parts, blocking
// playlist reload), or natively where the browser plays HLS itself (Safari), and measures the latency.
import Hls from "hls.js";
import { BAND_HEIGHT, readClock, WIDTH } from "./clock.js";

const READ_WIDTH = 320; // frames are scaled down to this width to read the clock
const SAMPLES = 600;
const RETRY_MS = 1000;

// hls.js settings for a live edge within a few seconds: the playlist's PART-HOLD-BACK (3 parts) is the
// target; playback speeds up a little to catch up after a stall, and jumps forward when far behind.
export const HLS_CONFIG = {
  lowLatencyMode: true,
  debug: new URLSearchParams(location.search).has("debug"),
  enableWorker: false, // the page's CSP allows no blob: workers; fMP4 needs no transmuxing anyway
  maxLiveSyncPlaybackRate: 1.2,
  backBufferLength: 10,
  maxBufferLength: 4,
};

export class Viewer {
  constructor(video, { onStatus }) {
    this.video = video;
    this.onStatus = onStatus;
    this.hls = null;
    this.streamId = null;
    this.ended = false;
    this.retry = null;
    this.samples = []; // {at, latencyMs}: clock reads (glass-to-glass), newest last
    this.errors = []; // hls.js errors, fatal or not (bounded), for whoever inspects the page
    this.canvas = Object.assign(document.createElement("canvas"), { width: READ_WIDTH, height: READ_WIDTH * 9 / 16 });
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    this._watchFrames();
  }

  url() {
    return `/hls/${encodeURIComponent(this.streamId)}/index.m3u8`;
  }

  play(streamId) {
    this.streamId = streamId;
    this.ended = false;
    if (Hls.isSupported()) this._load();
    else if (this.video.canPlayType("application/vnd.apple.mpegurl")) {
      this.video.src = this.url(); // Safari: native (LL-)HLS
      this.video.play().catch(() => {});
    } else this.onStatus("This browser cannot play HLS (no Media Source Extensions).", true);
  }

  _load() {
    if (this.hls) this.hls.destroy();
    const hls = new Hls(HLS_CONFIG);
    this.hls = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, () => this.video.play().catch(() => {}));
    hls.on(Hls.Events.LEVEL_UPDATED, (_, { details }) => {
      if (!details.live) this.markEnded();
    });
    hls.on(Hls.Events.ERROR, (_, data) => {
      this.errors.push({ at: Date.now(), type: data.type, details: data.details, fatal: data.fatal,
                         reason: data.reason || (data.error && data.error.message) || null });
      if (this.errors.length > 100) this.errors.shift();
      if (!data.fatal) return;
      const missing = data.response && data.response.code === 404;
      this.onStatus(missing ? "This stream does not exist (any more)." : `Playback stopped (${data.details}); retrying…`,
                    true);
      hls.destroy();
      if (this.hls === hls) this.hls = null;
      if (!missing && !this.ended) this.retry = setTimeout(() => this._load(), RETRY_MS);
    });
    hls.loadSource(this.url());
    hls.attachMedia(this.video);
  }

  // The stream ended (endStream, or EXT-X-ENDLIST): hls.js plays up to the end and stops.
  markEnded() {
    clearTimeout(this.retry);
    if (this.ended) return;
    this.ended = true;
    this.onStatus("The broadcast has ended; what was sent plays to its end.");
  }

  // Read the burned-in clock from every frame shown (requestVideoFrameCallback), else ten times a second.
  _watchFrames() {
    const video = this.video;
    if (typeof video.requestVideoFrameCallback === "function") {
      const onFrame = () => {
        this._readFrame();
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    } else setInterval(() => this._readFrame(), 100);
  }

  _readFrame() {
    const { videoWidth: w, videoHeight: h } = this.video;
    if (!w || !h || this.video.readyState < 2) return;
    const height = Math.round((READ_WIDTH * h) / w);
    if (this.canvas.height !== height) this.canvas.height = height;
    this.ctx.drawImage(this.video, 0, 0, READ_WIDTH, height);
    const band = Math.ceil((BAND_HEIGHT * READ_WIDTH) / WIDTH);
    const now = Date.now();
    const drawn = readClock(this.ctx.getImageData(0, 0, READ_WIDTH, band), now);
    if (drawn === null) return;
    this.samples.push({ at: now, latencyMs: now - drawn, currentTime: this.video.currentTime });
    if (this.samples.length > SAMPLES) this.samples.shift();
  }

  // What the page shows: glass-to-glass (median over the last second) when the picture carries the clock.
  stats() {
    const video = this.video;
    const quality = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : {};
    const now = Date.now();
    const recent = this.samples.filter((s) => now - s.at < 1000).map((s) => s.latencyMs).sort((a, b) => a - b);
    const buffered = video.buffered.length ? video.buffered.end(video.buffered.length - 1) - video.currentTime : 0;
    return {
      currentTime: video.currentTime,
      totalVideoFrames: quality.totalVideoFrames || 0,
      droppedVideoFrames: quality.droppedVideoFrames || 0,
      glassToGlassMs: recent.length ? recent[Math.floor(recent.length / 2)] : null,
      behindLiveEdgeS: this.hls && Number.isFinite(this.hls.latency) ? this.hls.latency : null,
      targetLatencyS: this.hls && Number.isFinite(this.hls.targetLatency) ? this.hls.targetLatency : null,
      bufferS: buffered,
      playbackRate: video.playbackRate,
    };
  }
}
