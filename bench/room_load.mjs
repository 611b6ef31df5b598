// Load generator for bench/room.py: one meeting's participants over raw websockets (npm `ws`), speaking
// just enough Engine.IO/Socket.IO (CONNECT with an auth payload, events, acks, pongs).
//
// Usage: node room_load.mjs <ws base url> <mode> <options as JSON>
//   chat       {meetingID, participants, rate, seconds}: `participants` join the meeting on /socket.io/;
//              one of them sends `rate` chat messages per second; every participant times each delivery.
//   whiteboard {meetingID, hostToken, viewers, rate, seconds}: the meeting's host and `viewers` anonymous
//              viewers join its ART room (/erizocontroller/socket.io/); the host sends `rate` drawing events
//              per second; every viewer times each delivery.
// Output: JSON lines {phase: "joined"} then {phase: <mode>, ...figures}.
import WebSocket from "ws";

const [base, mode, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson);
const now = () => performance.timeOrigin + performance.now();
const report = (o) => process.stdout.write(JSON.stringify(o) + "\n");

class Client {
  constructor(path, auth, onEvent) {
    this.onEvent = onEvent;
    this.acks = new Map();
    this.nextAck = 1;
    this.ready = new Promise((resolve, reject) => { this.resolveReady = resolve; this.rejectReady = reject; });
    this.ws = new WebSocket(`${base}${path}?EIO=4&transport=websocket`, { perMessageDeflate: false });
    this.ws.on("message", (data) => this.onMessage(data.toString()));
    this.ws.on("error", (e) => this.rejectReady(e));
    this.auth = auth;
  }

  onMessage(text) {
    if (text[0] === "0") { this.ws.send("40" + (this.auth ? JSON.stringify(this.auth) : "")); return; }
    if (text[0] === "2") { this.ws.send("3"); return; }
    if (text[0] !== "4") return;
    if (text[1] === "0") { this.resolveReady(); return; }
    if (text[1] === "4") { this.rejectReady(new Error(text)); return; }
    if (text[1] === "2") { this.onEvent(JSON.parse(text.slice(2))); return; }
    if (text[1] === "3") {
      const bracket = text.indexOf("[");
      const cb = this.acks.get(Number(text.slice(2, bracket)));
      if (cb) cb(JSON.parse(text.slice(bracket))[0]);
    }
  }

  call(event, payload) {
    return new Promise((resolve) => {
      const id = this.nextAck++;
      this.acks.set(id, resolve);
      this.ws.send(`42${id}${JSON.stringify([event, payload])}`);
    });
  }

  emit(event, payload) { this.ws.send(`42${JSON.stringify([event, payload])}`); }
  close() { this.ws.terminate(); }
}

async function open(n, path, auth, onEvent) {
  const clients = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => new Client(path, auth, onEvent));
    await Promise.all(batch.map((c) => c.ready));
    clients.push(...batch);
  }
  return clients;
}

function summary(latencies, expected, seconds) {
  latencies.sort((a, b) => a - b);
  const pick = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : null);
  return { delivered: latencies.length, expected, perSecond: latencies.length / seconds, p50: pick(0.5),
           p99: pick(0.99), max: latencies.at(-1) ?? null };
}

async function pace(rate, seconds, send) {
  const started = now();
  let sent = 0;
  while (now() - started < seconds * 1000) {
    const due = Math.floor(((now() - started) / 1000) * rate);
    while (sent < due) send(sent++);
    await new Promise((r) => setTimeout(r, 2));
  }
  return sent;
}

async function chat({ meetingID, participants = 500, rate = 20, seconds = 10 }) {
  const latencies = [];
  const onEvent = ([event, body]) => {
    if (event === "chat.new-message") latencies.push(now() - Number(body.message.split(":")[1]));
  };
  const clients = await open(participants, "/socket.io/", null, onEvent);
  for (const [i, c] of clients.entries()) {
    const joined = await c.call("room.join.new", { meetingID, deviceID: `p${i}` });
    if (!joined.success) throw new Error(JSON.stringify(joined));
  }
  report({ phase: "joined", participants: clients.length });
  await new Promise((r) => setTimeout(r, 500));
  const sent = await pace(rate, seconds, (n) => clients[0].emit("chat.send-message", { message: `${n}:${now()}` }));
  await new Promise((r) => setTimeout(r, 2000));
  report({ phase: "chat", sent, ...summary(latencies, sent * participants, seconds) });
  clients.forEach((c) => c.close());
}

async function whiteboard({ meetingID, hostToken, viewers = 200, rate = 60, seconds = 10 }) {
  const latencies = [];
  const onEvent = ([event, body]) => {
    if (event === "data" && body.type === "sendDrawingData") latencies.push(now() - body.msg.payload.at);
  };
  const [host] = await open(1, "/erizocontroller/socket.io/", { token: hostToken }, () => {});
  const joinedHost = await host.call("joinRoom", { roomId: meetingID, username: "host" });
  if (!joinedHost.data?.isHost) throw new Error("the bench host is not host: " + JSON.stringify(joinedHost));
  const clients = await open(viewers, "/erizocontroller/socket.io/", null, onEvent);
  for (const c of clients) await c.call("joinRoom", { roomId: meetingID, username: "viewer" });
  await host.call("sendData", { type: "whiteBoardToggle", msg: { room_id: meetingID, flag: true } });
  report({ phase: "joined", viewers: clients.length });
  await new Promise((r) => setTimeout(r, 500));
  const kinds = ["mousedown", "mousemove", "mousemove", "mousemove", "mouseup"];
  const sent = await pace(rate, seconds, (n) => host.emit("sendData", { type: "sendDrawingData",
    msg: { drawingType: kinds[n % kinds.length], payload: { pos: { x: n % 800, y: n % 600 }, at: now() },
           room_id: meetingID } }));
  await new Promise((r) => setTimeout(r, 2000));
  report({ phase: "whiteboard", sent, ...summary(latencies, sent * viewers, seconds) });
  [host, ...clients].forEach((c) => c.close());
}

try {
  await { chat, whiteboard }[mode](options);
  process.exit(0);
} catch (error) {
  report({ phase: "error", error: String(error && error.stack || error) });
  process.exit(1);
}
