"""Uploaded room files on disk: safe names, streamed writes and reads, under the data dir only."""
