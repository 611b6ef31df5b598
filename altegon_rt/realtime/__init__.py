"""The realtime application on the Socket.IO layer: Meet, the ART package, whiteboard, presence.

- ``sockets.py``: the Socket.IO servers at the spec's paths and who may connect to them; the handlers of
  each surface (Meet, ART package, SFU, HLS, recording) register on the servers built there.
- ``recording.py``, ``recording_jobs.py``: the recording server socket (tracks to disk) and its compose jobs.
- ``sessions.py``: recording a session for the reporting routes, located by the address that started it.
"""
