"""mediasoup's object model on top of rtc/: the UDP task and WebRtcTransport; Router/Producer/Consumer to come.

- ``transport``: :class:`~altegon_rt.sfu.transport.WebRtcTransport`, one peer's ICE-lite + DTLS + SRTP state,
  fed datagrams and time, no sockets;
- ``udp``: :class:`~altegon_rt.sfu.udp.UdpServer`, the one trio UDP socket that routes datagrams to transports.
"""
