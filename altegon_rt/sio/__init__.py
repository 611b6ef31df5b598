"""Socket.IO v5 on our Engine.IO: the sans-IO packet codec (``packets``), rooms, sockets and the server layer."""
