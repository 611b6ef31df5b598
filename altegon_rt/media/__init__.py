"""Media on PyAV: live WebM ingest, the HLS segmenter and playlist. The only package that imports ``av``.

- ``playlist.py``: the sans-IO HLS media playlist (RFC 8216 and Low-Latency HLS).
"""
