// A Meet participant on socket.io-client (npm, under Node): joins a meeting, sends `count` chat messages,
// and reports the chat messages it received until it has seen `expect` of them.
// Usage: node meet_participant.mjs <base url> <meetingID> <deviceID> <count> <expect> [token]
import { io } from "socket.io-client";

const [base, meetingID, deviceID, count, expect, token] = process.argv.slice(2);
const socket = io(base, { path: "/socket.io/", auth: token ? { token } : undefined, reconnection: false,
                          transports: ["websocket"] });
const received = [];
const done = new Promise((resolve) => {
  socket.on("chat.new-message", (m) => { received.push(m); if (received.length >= Number(expect)) resolve(); });
});
const timer = setTimeout(() => { console.log(JSON.stringify({ ok: false, error: "timeout", received })); process.exit(1); }, 20000);
socket.on("connect", async () => {
  const joined = await socket.timeout(5000).emitWithAck("room.join.new", { meetingID, deviceID, isHost: true });
  console.error(JSON.stringify({ joined }));
  // Tell the test we are in, then wait for its go (a line on stdin) before sending.
  console.log(JSON.stringify({ ready: true, isHost: joined.data.isHost }));
  process.stdin.once("data", async () => {
    for (let i = 0; i < Number(count); i++) socket.emit("chat.send-message", { message: `${deviceID}:${i}` });
    await done;
    clearTimeout(timer);
    console.log(JSON.stringify({ ok: true, received }));
    socket.disconnect();
    process.exit(0);
  });
});
socket.on("connect_error", (e) => { console.log(JSON.stringify({ ok: false, error: e.message })); process.exit(1); });
