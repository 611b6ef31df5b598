"""Media on PyAV: live WebM and MP4 ingest, the HLS segmenter and playlist, recordings. The only package that
imports ``av``.

Sans-IO, no PyAV:
- ``playlist.py``: the HLS media playlist (RFC 8216 and Low-Latency HLS).
- ``fmp4.py``: fMP4 (CMAF) fragments, ``moof`` + ``mdat``, for parts and segments.
- ``segmenter.py``: where parts and segments are cut.
- ``source.py``: what a live stream's sender sends (container and codecs from its ``mimeType``, first bytes).

In a stream's worker process (``python -m altegon_rt.media.worker``), on PyAV:
- ``ingest.py``: the growing source file as a blocking reader; ``transcode.py``: WebM or MP4 → H.264 + AAC samples;
  ``worker.py``: the process, its pipe protocol and files.

In the server (trio, no PyAV): ``workers.py`` starts and talks to worker processes; ``live.py`` is the
registry of live streams (playlists, restarts, timeouts, disk bounds, retention).

Recordings:
- ``recording.py``: recording tracks appended to disk (fsync policy, track list) and the composing job's format.
- ``compose.py``: a worker process that joins a recording's tracks into one MP4 (H.264 + AAC, faststart).
"""

FATAL_EXIT = 3  # a stream worker's exit status when the stream itself cannot be processed (not restarted)
