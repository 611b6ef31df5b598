"""Media on PyAV: live WebM ingest, the HLS segmenter and playlist, recordings. The only package that imports ``av``.

- ``recording.py``: recording tracks appended to disk (fsync policy, track list) and the composing job's format.
- ``compose.py``: a worker process that joins a recording's tracks into one MP4 (H.264 + AAC, faststart).
"""
