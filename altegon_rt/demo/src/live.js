// The demo live streaming page (/demo/live): broadcast the camera to Low-Latency HLS, list the streams, and
// watch one (/demo/live?watch=<streamId>) with hls.js. Bundled by esbuild (npm run build) into
// altegon_rt/demo/static/dist/live.js.
import { Signalling } from "./signalling.js";
import { Broadcaster, pickMimeType } from "./broadcast.js";
import { Viewer } from "./watch.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const watching = params.get("watch");
const segmentS = Number(document.body.dataset.segmentS) || 2;
const TIMESLICE_MS = Number(params.get("timeslice")) || 100; // small chunks: the server sees frames sooner

const sig = new Signalling("/stream/socket.io/");
const broadcaster = new Broadcaster(sig, { segmentS, timesliceMs: TIMESLICE_MS, onChange: showBroadcast });
const viewer = new Viewer($("video"), { onStatus: status });
let connected = null;

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function fail(error) {
  status(error.message || String(error), true);
  if (!error.code) console.error(error);
}

function connect() {
  connected = connected || sig.connect().catch((error) => {
    connected = null;
    throw error;
  });
  return connected;
}

const viewerLink = (streamId) => `${location.origin}/demo/live?watch=${encodeURIComponent(streamId)}`;

// -- broadcasting -------------------------------------------------------------------------------------------
function showBroadcast(state, error) {
  if (error) status(`${error.message || error}`, true);
  $("sent").textContent = `${state.chunks} chunks, ${(state.bytes / 1e6).toFixed(1)} MB` +
    (state.waiting > 2 ? ` (${state.waiting} waiting for the server)` : "");
}

async function startBroadcast() {
  $("start").disabled = true;
  $("clock").disabled = true;
  try {
    status("Asking for the camera and microphone…");
    const stream = await broadcaster.open({ clock: $("clock").checked });
    $("preview").srcObject = stream;
    $("preview").play().catch(() => {});
    await connect();
    const title = $("title").value.trim() || "Untitled stream";
    const streamId = await broadcaster.start(title, stream, params.get("mime") || undefined);
    $("stream-id").textContent = streamId;
    $("viewer-link").href = $("viewer-link").textContent = viewerLink(streamId);
    $("hls-link").href = $("hls-link").textContent = `${location.origin}/hls/${streamId}/index.m3u8`;
    $("format").textContent = broadcaster.state.mimeType;
    $("broadcast-info").hidden = false;
    $("stop").disabled = false;
    status(`Live: “${title}”. Share the viewer link.`);
  } catch (error) {
    broadcaster.close();
    $("start").disabled = false;
    $("clock").disabled = false;
    if (error.name === "NotAllowedError" || error.name === "NotFoundError") {
      status(`No camera (${error.name}): a broadcast needs one.`, true);
    } else fail(error);
  }
}

async function stopBroadcast() {
  $("stop").disabled = true;
  try {
    await broadcaster.stop();
    status("The broadcast has ended. Viewers can play it to its end for a while.");
  } catch (error) {
    fail(error);
  }
  $("preview").srcObject = null;
  $("start").disabled = false;
  $("clock").disabled = false;
}

// -- the list of streams ------------------------------------------------------------------------------------
async function refreshStreams() {
  const streams = await sig.request("getStreams");
  const list = $("streams");
  list.replaceChildren();
  for (const s of streams) {
    const item = document.createElement("li");
    const link = Object.assign(document.createElement("a"), { href: viewerLink(s.streamId), textContent: s.title });
    item.append(link, ` ${s.active ? "● live" : "(ended)"}`);
    if (s.streamId === broadcaster.state.streamId) item.append(" — yours");
    list.append(item);
  }
  $("no-streams").hidden = streams.length > 0;
  return streams;
}

// -- watching -----------------------------------------------------------------------------------------------
function showLatency() {
  const s = viewer.stats();
  const parts = [];
  if (s.glassToGlassMs !== null) parts.push(`glass-to-glass ${(s.glassToGlassMs / 1000).toFixed(2)} s`);
  if (s.behindLiveEdgeS !== null) parts.push(`${s.behindLiveEdgeS.toFixed(2)} s behind the live edge`);
  parts.push(`buffer ${s.bufferS.toFixed(2)} s`, `${s.droppedVideoFrames} dropped frames`);
  $("latency").textContent = `Latency: ${parts.join(" · ")}`;
}

async function watch(streamId) {
  $("broadcast").hidden = true;
  $("player").hidden = false;
  $("hls-url").href = $("hls-url").textContent = `${location.origin}/hls/${streamId}/index.m3u8`;
  status("Loading the stream…");
  viewer.play(streamId);
  $("video").addEventListener("playing", () => status(viewer.ended ? "The broadcast has ended." : "Playing live."));
  setInterval(showLatency, 500);
  try {
    await connect();
    const streams = await refreshStreams();
    const mine = streams.find((s) => s.streamId === streamId);
    if (!mine) status("This stream does not exist (any more).", true);
    else $("watch-title").textContent = mine.title;
  } catch (error) {
    fail(error);
  }
}

// -- page setup ---------------------------------------------------------------------------------------------
sig.on("endStream", ({ streamId }) => {
  if (streamId === broadcaster.state.streamId && broadcaster.state.live) {
    broadcaster.ended();
    status("The server ended this broadcast.", true);
    $("stop").disabled = true;
    $("start").disabled = $("clock").disabled = false;
  }
  if (streamId === watching) viewer.markEnded();
  refreshStreams().catch(() => {});
});
sig.on("error", (error) => {
  if (error && error.streamId === broadcaster.state.streamId) status(`${error.code}: ${error.message}`, true);
});
sig.on("disconnect", (reason) => {
  connected = null;
  if (broadcaster.state.live) status(`Disconnected from the server (${reason}): the broadcast stops.`, true);
  if (broadcaster.state.live) broadcaster.ended();
});

$("unmute").addEventListener("click", () => {
  $("video").muted = !$("video").muted;
  $("unmute").textContent = $("video").muted ? "Unmute" : "Mute";
});
$("broadcast-form").addEventListener("submit", (event) => {
  event.preventDefault();
  startBroadcast();
});
$("stop").addEventListener("click", () => stopBroadcast());
$("refresh").addEventListener("click", () => connect().then(refreshStreams).catch(fail));
$("clock").checked = params.get("clock") === "1";
if (watching) watch(watching);
else {
  if (!pickMimeType()) {
    $("start").disabled = true;
    status("This browser cannot record WebM or MP4 (MediaRecorder): it can watch, not broadcast.", true);
  }
  connect().then(refreshStreams).catch(fail);
  setInterval(() => { if (connected) refreshStreams().catch(() => {}); }, 5000);
}

// For people and tests who look inside the page (the browser test reads these).
window.__altegon = {
  sig, broadcaster, viewer,
  state: broadcaster.state,
  stats: () => viewer.stats(),
  samples: () => viewer.samples.slice(),
  hls: () => viewer.hls,
};
