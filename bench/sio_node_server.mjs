// The bench application of altegon_rt/testing/sio_app.py (join, broadcast, echo) on the Node `socket.io`
// server from npm, for bench/sio.py. Usage: node sio_node_server.mjs PORT
import { createServer } from "node:http";
import { Server } from "socket.io";

const httpServer = createServer();
const io = new Server(httpServer, { cors: { origin: "*" } });

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    ack(io.sockets.adapter.rooms.get(room)?.size ?? 0);
  });
  socket.on("broadcast", (room, ...rest) => {
    const ack = rest.pop();
    socket.to(room).emit("broadcast", ...rest);
    ack(1);
  });
  socket.on("echo", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
});

httpServer.listen(Number(process.argv[2]), "127.0.0.1", 8192, () => console.log("listening"));
