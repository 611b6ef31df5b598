// A socket.io connection to one of the server's sockets (by default the SFU socket, /sfu/socket.io/,
// docs/sfu-protocol.md; the live page uses /stream/socket.io/): requests with acks, and a log of server events.
import { io } from "socket.io-client";

export class SignallingError extends Error {
  constructor(event, code, message) {
    super(`${event}: ${message}`);
    this.event = event;
    this.code = code;
  }
}

export class Signalling {
  constructor(path = "/sfu/socket.io/") {
    // Same origin as the page; no reconnection: the server forgets a peer whose socket closed.
    this.socket = io({ path, reconnection: false, autoConnect: false });
    this.events = []; // the server's events as received (bounded), for whoever inspects the page
    this.socket.onAny((event, data) => {
      this.events.push({ event, data, at: performance.now() });
      if (this.events.length > 2000) this.events.shift();
    });
  }

  get id() {
    return this.socket.id;
  }

  on(event, handler) {
    this.socket.on(event, handler);
  }

  connect(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const done = (error) => {
        clearTimeout(timer);
        this.socket.off("connect", onConnect);
        this.socket.off("connect_error", onError);
        if (error) reject(error);
        else resolve();
      };
      const onConnect = () => done(null);
      const onError = (err) => done(new Error(`cannot connect to the server: ${err.message}`));
      const timer = setTimeout(() => done(new Error("the server did not answer")), timeoutMs);
      this.socket.once("connect", onConnect);
      this.socket.once("connect_error", onError);
      this.socket.connect();
    });
  }

  // Emit `event` and resolve with the ack; a `{success: false, error}` ack rejects with its code.
  request(event, data = {}, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      this.socket.timeout(timeoutMs).emit(event, data, (err, answer) => {
        if (err) reject(new SignallingError(event, "timeout", "the server did not answer"));
        else if (answer && answer.success === false && answer.error) {
          reject(new SignallingError(event, answer.error.code, answer.error.message));
        } else resolve(answer);
      });
    });
  }

  close() {
    this.socket.disconnect();
  }
}
