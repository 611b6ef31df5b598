// Load generator for bench/sio.py: many lightweight Socket.IO v5 clients over raw websockets (npm `ws`),
// speaking just enough of the protocol (open, namespace connect, ping/pong, events, acks), so that one Node
// process can drive thousands of connections without being the bottleneck.
//
// Usage: node sio_load.mjs <ws base url> <mode> [options as JSON]
//   fanout {clients, seconds, window}: `clients` join room "bench"; one more client broadcasts timestamps to
//          it, keeping at most `window` broadcasts not yet fully delivered. Prints deliveries/s and latency.
//   idle   {clients, holdSeconds}: opens `clients` connections, reports when all are connected, holds them.
//   echo   {clients, seconds}: each client calls `echo` with an ack in a loop. Prints round-trip p50/p99.
// Output: one JSON line per phase on stdout.
import WebSocket from "ws";

const [base, mode, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson || "{}");
const url = `${base}/socket.io/?EIO=4&transport=websocket`;
const now = () => performance.timeOrigin + performance.now();

class Client {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.acks = new Map();
    this.nextAck = 1;
    this.ready = new Promise((resolve, reject) => { this.resolveReady = resolve; this.rejectReady = reject; });
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on("message", (data, isBinary) => this.onMessage(isBinary ? data : data.toString()));
    this.ws.on("error", (e) => this.rejectReady(e));
    this.ws.on("close", () => { this.closed = true; });
  }

  onMessage(text) {
    const type = text[0];
    if (type === "0") { this.ws.send("40"); return; }
    if (type === "2") { this.ws.send("3"); return; }
    if (type !== "4") return;
    const sioType = text[1];
    if (sioType === "0") { this.resolveReady(); return; }
    if (sioType === "2") { this.onEvent(text); return; }
    if (sioType === "3") {
      const bracket = text.indexOf("[");
      const id = Number(text.slice(2, bracket));
      const cb = this.acks.get(id);
      if (cb) { this.acks.delete(id); cb(JSON.parse(text.slice(bracket))); }
    }
  }

  call(event, ...args) {
    return new Promise((resolve) => {
      const id = this.nextAck++;
      this.acks.set(id, resolve);
      this.ws.send(`42${id}${JSON.stringify([event, ...args])}`);
    });
  }

  close() { this.ws.terminate(); }
}

async function openClients(n, onEvent) {
  const clients = [];
  for (let i = 0; i < n; i += 200) {
    const batch = Array.from({ length: Math.min(200, n - i) }, () => new Client(onEvent));
    await Promise.all(batch.map((c) => c.ready));
    clients.push(...batch);
  }
  return clients;
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function report(obj) { process.stdout.write(JSON.stringify(obj) + "\n"); }

async function fanout({ clients = 1000, seconds = 10, window = 4 }) {
  const latencies = [];
  let delivered = 0;
  const pending = new Map(); // broadcast id -> deliveries still expected
  let release = null;
  const onEvent = (text) => {
    // 42["broadcast",<id>,<sent at>]
    const parts = JSON.parse(text.slice(2));
    const id = parts[1];
    latencies.push(now() - parts[2]);
    delivered++;
    const left = pending.get(id) - 1;
    if (left === 0) { pending.delete(id); if (release) { const r = release; release = null; r(); } }
    else pending.set(id, left);
  };
  const receivers = await openClients(clients, onEvent);
  for (const c of receivers) await c.call("join", "bench");
  const [emitter] = await openClients(1, () => {});
  report({ phase: "connected", clients: receivers.length });
  await new Promise((r) => setTimeout(r, 500));
  latencies.length = 0; delivered = 0;
  const started = now();
  let id = 0;
  while (now() - started < seconds * 1000) {
    // A broadcast that never completes (dropped by a server) must not hang the run: wait at most 10 s.
    while (pending.size >= window) {
      const released = await new Promise((r) => { release = () => r(true); setTimeout(() => r(false), 10000); });
      if (!released) break;
    }
    if (pending.size >= window) break;
    id++;
    pending.set(id, clients);
    emitter.call("broadcast", "bench", id, now());
    if (id % window === 0) await new Promise((r) => setImmediate(r));
  }
  const drainDeadline = now() + 10000;
  while (pending.size && now() < drainDeadline) await new Promise((r) => setTimeout(r, 10));
  const elapsed = (now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const lost = [...pending.values()].reduce((a, b) => a + b, 0);
  report({ phase: "fanout", clients, broadcasts: id, delivered, lost, seconds: elapsed,
           perSecond: delivered / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99),
           disconnected: receivers.filter((c) => c.closed).length });
  [...receivers, emitter].forEach((c) => c.close());
}

async function idle({ clients = 5000, holdSeconds = 5 }) {
  const opened = await openClients(clients, () => {});
  report({ phase: "idle-connected", clients: opened.length });
  await new Promise((r) => setTimeout(r, holdSeconds * 1000));
  report({ phase: "idle-done", stillOpen: opened.filter((c) => !c.closed).length });
  opened.forEach((c) => c.close());
}

async function echo({ clients = 200, seconds = 10 }) {
  const all = await openClients(clients, () => {});
  report({ phase: "connected", clients: all.length });
  const rtts = [];
  const started = now();
  await Promise.all(all.map(async (c) => {
    while (now() - started < seconds * 1000) {
      const t0 = now();
      await c.call("echo", "ping", t0);
      rtts.push(now() - t0);
    }
  }));
  const elapsed = (now() - started) / 1000;
  rtts.sort((a, b) => a - b);
  report({ phase: "echo", clients, calls: rtts.length, perSecond: rtts.length / elapsed,
           p50: percentile(rtts, 50), p99: percentile(rtts, 99) });
  all.forEach((c) => c.close());
}

const modes = { fanout, idle, echo };
try {
  await modes[mode](options);
  process.exit(0);
} catch (error) {
  report({ phase: "error", error: String(error && error.stack || error) });
  process.exit(1);
}
