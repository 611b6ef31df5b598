"""RTMP ingest: what OBS, ffmpeg and other encoders publish to ``rtmp://<host>:<port>/live/<stream key>``.

Sans-IO cores (bytes in, events and bytes out, nothing of ours imported but this folder):

- :mod:`.amf0`: AMF0 values (Action Message Format, Adobe's AMF0 specification, 2007);
- :mod:`.chunks`: the chunk stream (Adobe RTMP specification 1.0, 2012, §5.3): chunking and reassembly of
  messages over interleaved chunk streams, chunk sizes, extended timestamps;
- :mod:`.connection`: one server-side connection: the plain handshake (§5.2), protocol control messages (§5.4),
  user control (§6.2), and the NetConnection/NetStream commands an encoder sends to publish (§7.2);
- :mod:`.flv`: the FLV tags that RTMP's audio and video messages carry (Adobe FLV specification 10.1, E.4):
  H.264 (AVC) and AAC, their sequence headers and frames;
- :mod:`.mux`: those tags → a live Matroska byte stream (``media/matroska.py``), which the HLS pipeline reads.

:mod:`.server` is the thin trio layer: a TCP listener, one task per connection, each publish checked against
the RealtimeKit livestream its stream key belongs to (a callable passed in, see ``rtk/ingest.py``).
"""
