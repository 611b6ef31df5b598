// Drives the echo application (altegon_rt/testing/sio_app.py) with the unmodified socket.io-client from npm.
// Usage: node conformance.mjs <base url> <scenario>; prints one JSON object with what it observed.
import { io } from "socket.io-client";

const [base, scenario] = process.argv.slice(2);

function connect(opts = {}, nsp = "/") {
  return io(base + nsp, { reconnection: false, timeout: 5000, forceNew: true, ...opts });
}

function once(socket, event) {
  return new Promise((resolve) => socket.once(event, (...args) => resolve(args)));
}

// Every argument of the ack (emitWithAck resolves with the first one only).
function ack(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(5000).emit(event, ...args, (err, ...answer) => (err ? reject(err) : resolve(answer)));
  });
}

function withTimeout(promise, ms, what) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms))]);
}

const scenarios = {
  // polling first, then the upgrade to websocket; events, acks, binary both ways, server-to-client ack.
  async basic() {
    const s = connect();
    await withTimeout(once(s, "connect"), 5000, "connect");
    const upgraded = s.io.engine.transport.name === "websocket" ? true
      : await withTimeout(new Promise((r) => s.io.engine.once("upgrade", () => r(true))), 5000, "upgrade");
    const echo = await ack(s, "echo", "hello", { n: 1 }, [1, 2, 3]);
    const bin = await ack(s, "echo", { file: new Uint8Array([1, 2, 3, 255]) }, Buffer.from("xyz"));
    s.on("question", (a, b, ack) => ack(a + b, "ok"));
    const asked = await ack(s, "ask", 20, 22);
    const backPromise = once(s, "echo");
    s.emit("emit-back", "again", Buffer.from([9, 8]));
    const back = await withTimeout(backPromise, 5000, "emit-back");
    const unknown = await ack(s, "no-such-event", 1);
    const transport = s.io.engine.transport.name;
    s.disconnect();
    return {
      upgraded, transport, echo, asked, unknown,
      bin: { file: Array.from(bin[0].file), second: Buffer.from(bin[1]).toString() },
      back: [back[0], Array.from(back[1])],
    };
  },

  async websocketOnly() {
    const s = connect({ transports: ["websocket"] });
    await withTimeout(once(s, "connect"), 5000, "connect");
    const echo = await ack(s, "echo", "ws");
    const transport = s.io.engine.transport.name;
    s.disconnect();
    return { echo, transport };
  },

  async pollingOnly() {
    const s = connect({ transports: ["polling"] });
    await withTimeout(once(s, "connect"), 5000, "connect");
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => ack(s, "echo", i)));
    const bin = await ack(s, "echo", Buffer.from([0, 1, 2]));
    const transport = s.io.engine.transport.name;
    s.disconnect();
    return { many: many.map((a) => a[0]), bin: Array.from(bin[0]), transport };
  },

  async namespacesAndRefusal() {
    const admin = connect({}, "/admin");
    await withTimeout(once(admin, "connect"), 5000, "admin connect");
    const who = await ack(admin, "whoami");
    admin.disconnect();
    const bad = connect({}, "/nope");
    const [badErr] = await withTimeout(once(bad, "connect_error"), 5000, "invalid namespace");
    bad.close();
    const refused = connect({ auth: { refuse: true } });
    const [refusedErr] = await withTimeout(once(refused, "connect_error"), 5000, "refused");
    refused.close();
    return { who: who[0], badErr: badErr.message, refused: { message: refusedErr.message, data: refusedErr.data } };
  },

  async rooms() {
    const sockets = Array.from({ length: 5 }, () => connect({ transports: ["websocket"] }));
    await Promise.all(sockets.map((s) => withTimeout(once(s, "connect"), 5000, "connect")));
    const sizes = [];
    for (const s of sockets) sizes.push((await ack(s, "join", "room-1"))[0]);
    const received = sockets.slice(1).map((s) => withTimeout(once(s, "broadcast"), 5000, "broadcast"));
    let senderGot = false;
    sockets[0].on("broadcast", () => { senderGot = true; });
    const [sent] = await ack(sockets[0], "broadcast", "room-1", "to all", 7);
    const got = await Promise.all(received);
    await new Promise((r) => setTimeout(r, 200));
    sockets.forEach((s) => s.disconnect());
    return { sizes, sent, got, senderGot };
  },

  async serverDisconnect() {
    const s = connect({ transports: ["websocket"] });
    await withTimeout(once(s, "connect"), 5000, "connect");
    const reasonPromise = once(s, "disconnect");
    s.emit("bye");
    const [reason] = await withTimeout(reasonPromise, 5000, "disconnect");
    const t = connect();
    await withTimeout(once(t, "connect"), 5000, "connect 2");
    const closedPromise = once(t, "disconnect");
    t.emit("close");
    const [closedReason] = await withTimeout(closedPromise, 5000, "close");
    return { reason, closedReason };
  },
};

try {
  const result = await scenarios[scenario]();
  console.log(JSON.stringify({ ok: true, result }));
  process.exit(0);
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error && error.stack || error) }));
  process.exit(1);
}
