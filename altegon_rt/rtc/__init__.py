"""sans-IO WebRTC protocol cores: no sockets, no trio, no clock (time is passed in).

- ``stun``: STUN messages (RFC 5389/8489), MESSAGE-INTEGRITY and FINGERPRINT;
- ``ice``: the ICE-lite responder (RFC 8445 lite);
- ``dtls``: DTLS 1.2 for DTLS-SRTP over pyOpenSSL memory BIOs (RFC 5763/5764);
- ``rtp``, ``rtp_ext``: RTP packets and header extensions (RFC 3550, 8285), RTX (RFC 4588), hot-path rewriting;
- ``rtcp``, ``twcc``: RTCP compound packets and feedback (RFC 3550, 4585, 5104, REMB, transport-wide CC);
- ``rtp_parameters``: the shapes of RTP capabilities and parameters, validated into normalised copies;
- ``ortc``, ``h264_profile``: mediasoup's ORTC negotiation as pure functions (RFC 3264, 4588, 6184).
"""
