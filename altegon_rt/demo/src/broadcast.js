// The broadcaster: camera and microphone → MediaRecorder (WebM or MP4) → `videoBlob` chunks on the HLS server socket
// (/stream/socket.io/, README "Live streaming to HLS"), optionally with a wall clock burned into the picture.
import { drawClock, HEIGHT, WIDTH } from "./clock.js";

// Best first: H.264 is passed through by the server (no re-encoding), VP8/VP9 are transcoded with libx264. WebM
// before MP4: Chromium writes an MP4 fragment only once the next keyframe is encoded (a keyframe interval later);
// MP4 is for browsers that record no WebM, such as Safari; there H.264 and AAC both pass through.
export const MIME_TYPES = ["video/webm;codecs=h264,opus", "video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus",
  "video/webm;codecs=h264", "video/webm;codecs=vp8", "video/webm", "video/mp4;codecs=avc1,mp4a.40.2",
  "video/mp4;codecs=avc1,opus", "video/mp4;codecs=avc1", "video/mp4"];
const FRAME_MS = 1000 / 30;

export function pickMimeType(preferred) {
  if (typeof MediaRecorder === "undefined") return null;
  const list = preferred ? [preferred, ...MIME_TYPES] : MIME_TYPES;
  return list.find((type) => MediaRecorder.isTypeSupported(type)) || null;
}

// The camera drawn onto a canvas with the clock on top, as a stream of WIDTH×HEIGHT frames (~30 a second).
// Timers run slowly in a hidden tab: keep the tab in front while the clock is on.
class ClockedCamera {
  constructor(camera) {
    this.video = Object.assign(document.createElement("video"), { muted: true, playsInline: true });
    this.video.srcObject = new MediaStream(camera.getVideoTracks());
    this.canvas = Object.assign(document.createElement("canvas"), { width: WIDTH, height: HEIGHT });
    this.ctx = this.canvas.getContext("2d", { alpha: false });
    this.timer = null;
  }

  async start() {
    await this.video.play();
    this._draw();
    const tick = () => {
      this._draw();
      this.timer = setTimeout(tick, FRAME_MS);
    };
    this.timer = setTimeout(tick, FRAME_MS);
    return this.canvas.captureStream(30).getVideoTracks()[0];
  }

  _draw() {
    const { videoWidth: w, videoHeight: h } = this.video;
    if (w && h) { // cover: fill the picture, cropping what does not fit
      const scale = Math.max(WIDTH / w, HEIGHT / h);
      this.ctx.drawImage(this.video, (WIDTH - w * scale) / 2, (HEIGHT - h * scale) / 2, w * scale, h * scale);
    }
    drawClock(this.ctx, Date.now());
  }

  stop() {
    clearTimeout(this.timer);
    this.video.srcObject = null;
  }
}

export class Broadcaster {
  // sig: a Signalling on /stream/socket.io/; segmentS: the server's segment length (the keyframe interval).
  constructor(sig, { segmentS, timesliceMs, onChange }) {
    this.sig = sig;
    this.segmentS = segmentS;
    this.timesliceMs = timesliceMs;
    this.onChange = onChange;
    this.camera = null;
    this.clocked = null;
    this.output = null;
    this.recorder = null;
    this.sending = Promise.resolve(); // chunks go out in order
    this.state = { streamId: null, mimeType: null, chunks: 0, bytes: 0, acked: 0, waiting: 0, errors: [],
                   live: false, clock: false };
  }

  // The stream to record (and preview): the camera itself, or the camera with the clock drawn on it.
  async open({ clock }) {
    const video = clock ? { width: { ideal: WIDTH }, height: { ideal: HEIGHT }, frameRate: { ideal: 30 } }
      : { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
    try {
      this.camera = await navigator.mediaDevices.getUserMedia({ audio: true, video });
    } catch (error) {
      if (error.name !== "NotFoundError") throw error;
      this.camera = await navigator.mediaDevices.getUserMedia({ video }); // no microphone: a silent broadcast
    }
    this.state.clock = clock;
    if (!clock) return this.camera;
    this.clocked = new ClockedCamera(this.camera);
    this.output = new MediaStream([await this.clocked.start(), ...this.camera.getAudioTracks()]);
    return this.output;
  }

  async start(title, stream, preferredMimeType) {
    const mimeType = pickMimeType(preferredMimeType);
    if (!mimeType) throw new Error("This browser cannot record WebM or MP4 (MediaRecorder): try Chrome, Firefox or Safari.");
    const { streamId } = await this.sig.request("startStream", { title, mimeType });
    Object.assign(this.state, { streamId, mimeType, live: true });
    // Keyframes on the server's segment grid: H.264 is passed through and segments start on keyframes.
    // (Browsers without videoKeyFrameIntervalDuration ignore it; VP8/VP9 are re-encoded on that grid anyway.)
    this.recorder = new MediaRecorder(stream, { mimeType, videoKeyFrameIntervalDuration: this.segmentS * 1000 });
    this.recorder.addEventListener("dataavailable", (event) => this._send(event.data));
    this.recorder.addEventListener("error", (event) => this._fail(event.error || new Error("recording failed")));
    this.recorder.start(this.timesliceMs);
    this.onChange(this.state);
    return streamId;
  }

  _send(blob) {
    if (!blob.size || !this.state.streamId) return;
    const { streamId } = this.state;
    this.state.waiting += 1;
    this.sending = this.sending.then(async () => {
      const data = await blob.arrayBuffer();
      this.state.chunks += 1;
      this.state.bytes += data.byteLength;
      // Not awaited: the next chunk goes out without waiting for this one's ack.
      this.sig.request("videoBlob", { streamId, data }, 30000)
        .then(() => { this.state.acked += 1; })
        .catch((error) => this._fail(error))
        .finally(() => { this.state.waiting -= 1; this.onChange(this.state); });
    });
  }

  _fail(error) {
    // The first ones say most (bounded: a broken stream refuses every chunk after).
    if (this.state.errors.length < 50) this.state.errors.push({ code: error.code || "error", message: error.message || String(error) });
    this.onChange(this.state, error);
  }

  // Stop recording, send what is left, and end the stream (viewers get EXT-X-ENDLIST).
  async stop() {
    const recorder = this.recorder;
    this.recorder = null;
    if (recorder && recorder.state !== "inactive") {
      const stopped = new Promise((resolve) => recorder.addEventListener("stop", resolve, { once: true }));
      recorder.stop();
      await stopped;
    }
    await this.sending;
    for (let i = 0; i < 100 && this.state.waiting > 0; i++) await new Promise((r) => setTimeout(r, 50));
    if (this.state.live && this.state.streamId) {
      this.state.live = false;
      await this.sig.request("endStream", { streamId: this.state.streamId }).catch((error) => {
        if (error.code !== "stream_ended") throw error;
      });
    }
    this.close();
    this.onChange(this.state);
  }

  // The server ended the stream (sender timeout, an error): stop recording without sending more.
  ended() {
    this.state.live = false;
    if (this.recorder && this.recorder.state !== "inactive") this.recorder.stop();
    this.recorder = null;
    this.close();
    this.onChange(this.state);
  }

  close() {
    if (this.clocked) this.clocked.stop();
    for (const stream of [this.camera, this.output]) {
      if (stream) for (const track of stream.getTracks()) track.stop();
    }
    this.camera = this.clocked = this.output = null;
  }
}
