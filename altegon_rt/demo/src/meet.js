// The demo meeting page (/demo/meet): join a room, see everyone, mute, share the screen, chat.
// Bundled by esbuild (npm run build) into altegon_rt/demo/static/dist/meet.js.
import { Signalling } from "./signalling.js";
import { MediaSession } from "./session.js";
import { Chat, Tiles } from "./ui.js";

const $ = (id) => document.getElementById(id);
const NAME_KEY = "altegon-demo-name";
const hostKeyName = (roomId) => `altegon-demo-host-key:${roomId}`;

const sig = new Signalling();
const peers = new Map(); // peer id → name
const me = { id: null, name: null, roomId: null, role: null, joined: false };
const tiles = new Tiles($("tiles"), $("tile-template"));
const session = new MediaSession(sig, {
  onConsumer(record) {
    const track = record.consumer.track;
    if (record.kind === "audio") tiles.addAudio(record.peerId, record.id, track);
    else tiles.setVideo(record.peerId, record.type, track);
    showProducerState(record);
  },
  onConsumerClosed(record) {
    if (record.kind === "audio") {
      tiles.removeAudio(record.id);
      tiles.setBadge(record.peerId, "mic off", false);
    } else {
      tiles.removeVideo(record.peerId, record.type);
      if (record.type === "camera") tiles.setBadge(record.peerId, "camera off", false);
    }
  },
  onTransportState(direction, state) {
    if (state === "failed" || state === "disconnected") status(`Media connection (${direction}) ${state}.`, true);
  },
});
const chat = new Chat($("messages"), $("chat-form"), $("chat-input"),
                      (message) => sig.request("sendMessage", { message }).catch(fail));
let whenReady;
const ready = new Promise((resolve) => { whenReady = resolve; });

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function fail(error) {
  status(error.message || String(error), true);
  if (error.code) console.warn(error.message); // refused by the server, with a reason: shown to the person
  else console.error(error);
}

function showProducerState(record) {
  if (record.type === "microphone") tiles.setBadge(record.peerId, "mic off", record.producerPaused);
  if (record.type === "camera") {
    tiles.setBadge(record.peerId, "camera off", record.producerPaused);
    tiles.setVideoHidden(record.peerId, "camera", record.producerPaused);
  }
}

function nameOf(peerId) {
  return peers.get(peerId) || "Guest";
}

async function consume(info) {
  await ready;
  if (info.peerId === me.id) return;
  tiles.tile(info.peerId, "camera", nameOf(info.peerId));
  if (info.appData && info.appData.type === "screen") tiles.tile(info.peerId, "screen", nameOf(info.peerId));
  try {
    const record = await session.consume(info);
    if (record && info.paused) {
      record.producerPaused = true;
      showProducerState(record);
    }
  } catch (error) {
    fail(error);
  }
}

// -- server events ------------------------------------------------------------------------------------------
sig.on("newPeer", ({ peerId, name, role }) => {
  peers.set(peerId, name);
  tiles.tile(peerId, "camera", name);
  tiles.setBadge(peerId, "host", role === "host");
  status(`${name} joined.`);
});
sig.on("peerLeft", ({ peerId }) => {
  status(`${nameOf(peerId)} left.`);
  for (const record of [...session.consumers.values()]) {
    if (record.peerId === peerId) session.forgetProducer(record.producerId);
  }
  peers.delete(peerId);
  tiles.removePeer(peerId);
});
sig.on("newProducer", (info) => consume(info));
sig.on("producerClosed", ({ producerId }) => session.forgetProducer(producerId));
for (const [event, paused] of [["producerPaused", true], ["producerResumed", false]]) {
  sig.on(event, ({ producerId }) => {
    const record = session.byProducer.get(producerId);
    if (!record) return;
    record.producerPaused = paused;
    showProducerState(record);
  });
}
sig.on("peerRoleChanged", ({ peerId, role }) => {
  tiles.setBadge(peerId, "host", role === "host");
  if (peerId === me.id) me.role = role;
});
sig.on("newMessage", (entry) => chat.add(entry));
sig.on("screen:shared", ({ name }) => status(`${name} is sharing their screen.`));
sig.on("screen:stopped", ({ name }) => status(`${name} stopped sharing.`));
sig.on("disconnect", (reason) => {
  if (me.joined) status(`Disconnected from the server (${reason}). Reload the page to join again.`, true);
  me.joined = false;
});

// -- joining ------------------------------------------------------------------------------------------------
async function publishLocal() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: true, video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } } });
  } catch (error) {
    status(`No camera or microphone (${error.name}): you can watch, listen and chat.`, true);
    return;
  }
  const [audio] = stream.getAudioTracks();
  const [video] = stream.getVideoTracks();
  if (audio && session.canProduce("audio")) await session.produce("microphone", audio);
  if (video && session.canProduce("video")) {
    await session.produce("camera", video);
    tiles.setVideo(me.id, "camera", video);
  }
  $("mic").disabled = !session.producers.has("microphone");
  $("cam").disabled = !session.producers.has("camera");
}

async function join(roomId) {
  const name = $("name").value.trim() || "Guest";
  localStorage.setItem(NAME_KEY, name);
  for (const button of $("join-form").querySelectorAll("button")) button.disabled = true;
  status("Connecting…");
  await sig.connect();
  if (!roomId) {
    const created = await sig.request("createRoom", { mode: "meeting" });
    roomId = created.room_id;
    // The host key makes this tab the host again after a reload; it is never shown or sent to others.
    if (created.hostKey) sessionStorage.setItem(hostKeyName(roomId), created.hostKey);
  }
  const hostKey = sessionStorage.getItem(hostKeyName(roomId)) || undefined;
  const { room, chatHistory } = await sig.request("join", { room_id: roomId, name, hostKey });
  const mine = room.peers.find((peer) => peer.id === sig.id);
  Object.assign(me, { id: sig.id, name, roomId, role: (mine && mine.role) || "participant" });
  history.replaceState(null, "", `${location.pathname}?room=${encodeURIComponent(roomId)}`);
  $("invite-link").href = $("invite-link").textContent = location.href;
  $("lobby").hidden = true;
  $("meeting").hidden = false;
  for (const peer of room.peers) peers.set(peer.id, peer.name);
  tiles.tile(me.id, "camera", `${name} (you)`);
  for (const peer of room.peers) if (peer.id !== me.id) tiles.tile(peer.id, "camera", peer.name);
  for (const entry of chatHistory) chat.add(entry);
  for (const peer of room.peers) tiles.setBadge(peer.id, "host", peer.role === "host");
  await session.start();
  if (me.role === "viewer") {
    status("This is a webinar: you are a viewer (you watch, listen and chat).");
    $("screen").disabled = true;
  } else await publishLocal();
  me.joined = true;
  whenReady();
  await Promise.all(room.producers.map((info) => consume(info)));
  if (!$("status").classList.contains("error")) status(`In room ${roomId} with ${peers.size - 1} other(s).`);
}

function startJoin(roomId) {
  join(roomId).catch((error) => {
    if (error.code === "not_found") error.message = "That room does not exist (any more): create a new one.";
    fail(error);
    for (const button of $("join-form").querySelectorAll("button")) button.disabled = false;
    sig.close();
  });
}

// -- controls -----------------------------------------------------------------------------------------------
async function toggle(type, button, labels, badge) {
  const producer = session.producers.get(type);
  if (!producer) return;
  const paused = !producer.paused;
  button.disabled = true;
  try {
    await session.setProducerPaused(type, paused);
    button.setAttribute("aria-pressed", String(paused));
    button.textContent = labels[paused ? 1 : 0];
    tiles.setBadge(me.id, badge, paused);
    if (type === "camera") tiles.setVideoHidden(me.id, "camera", paused);
  } catch (error) {
    fail(error);
  } finally {
    button.disabled = false;
  }
}

async function stopScreen() {
  const producer = await session.closeProducer("screen").catch(fail);
  tiles.removeVideo(me.id, "screen");
  $("screen").setAttribute("aria-pressed", "false");
  $("screen").textContent = "Share screen";
  if (producer) sig.request("screen:stopped", { producerId: producer.id }).catch(fail);
}

async function toggleScreen() {
  if (session.producers.has("screen")) return stopScreen();
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch (error) {
    return status(`Screen sharing was not started (${error.name}).`, true);
  }
  const [track] = stream.getVideoTracks();
  let producer;
  try {
    producer = await session.produce("screen", track);
  } catch (error) {
    track.stop();
    if (error.code === "screen_busy") error.message = "Someone else is sharing their screen: one at a time.";
    return fail(error);
  }
  producer.on("trackended", () => stopScreen()); // "Stop sharing" in the browser's own bar
  tiles.tile(me.id, "screen", `${me.name} (you)`);
  tiles.setVideo(me.id, "screen", track);
  $("screen").setAttribute("aria-pressed", "true");
  $("screen").textContent = "Stop sharing";
  await sig.request("screen:shared", { producerId: producer.id, kind: "video", appData: { type: "screen" } })
    .catch(fail);
}

async function leave() {
  me.joined = false;
  await sig.request("exitRoom").catch(() => {});
  session.close();
  sig.close();
  location.reload(); // back to the lobby of the same room (?room=…)
}

// -- page setup ---------------------------------------------------------------------------------------------
$("name").value = localStorage.getItem(NAME_KEY) || "";
$("room").value = new URLSearchParams(location.search).get("room") || "";
$("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  startJoin($("room").value.trim() || null);
});
$("create").addEventListener("click", () => startJoin(null));
$("mic").addEventListener("click", () => toggle("microphone", $("mic"), ["Mute mic", "Unmute mic"], "mic off"));
$("cam").addEventListener("click", () => toggle("camera", $("cam"), ["Stop camera", "Start camera"], "camera off"));
$("screen").addEventListener("click", () => toggleScreen().catch(fail));
$("leave").addEventListener("click", () => leave());

// For people and tests who look inside the page (the browser tests read getStats() through this).
window.__altegon = {
  me, peers, sig, session,
  events: sig.events,
  request: (event, data) => sig.request(event, data),
  inbound: () => session.inbound(),
  outbound: () => session.outbound(),
  pauseConsumer: (id) => session.pauseConsumer(id),
  resumeConsumer: (id) => session.resumeConsumer(id),
};
