"""Engine.IO v4: sans-IO packets, sessions, request checks and heartbeat schedule; a thin trio layer over ASGI.

``packets``, ``session``, ``handshake`` and ``heartbeat`` are pure; ``server`` and ``websocket`` do the I/O.
"""
