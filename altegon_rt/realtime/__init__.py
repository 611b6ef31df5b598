"""The application on the sockets: Meet, the ART package, whiteboard, presence (the socket servers arrive
with issue 6).

- ``sessions.py``: recording a session for the reporting routes, located by the address that started it.
"""
