"""mediasoup's object model on top of rtc/: Router, Transport, Producer, Consumer, and the UDP task.

- ``router``: :class:`~altegon_rt.sfu.router.Router` and its :class:`~altegon_rt.sfu.router.Transport`s, the
  object tree and the outbox the UDP task flushes;
- ``producer``, ``consumer``: one incoming stream with its retransmission ring, and one outgoing rewritten copy;
- ``observer``: lifecycle events on a typed trio memory channel;
- ``transport``: :class:`~altegon_rt.sfu.transport.WebRtcTransport`, one peer's ICE-lite + DTLS + SRTP state,
  fed datagrams and time, no sockets;
- ``udp``: :class:`~altegon_rt.sfu.udp.UdpServer`, the one trio UDP socket that routes datagrams to transports.
"""
