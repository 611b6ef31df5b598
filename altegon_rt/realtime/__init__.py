"""The realtime application on the Socket.IO layer: which servers exist at which paths, who may connect.

The handlers of each surface (Meet, ART package, SFU, HLS, recording) register on the servers built here.
"""
