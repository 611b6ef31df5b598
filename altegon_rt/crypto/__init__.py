"""Encryption at rest for transcripts and summaries (the Webinar document's "Encrypted Transcription").

Pure functions and one small class over ``cryptography``'s AES; no I/O. Callers run the key derivations
(PBKDF2, CPU bound) in worker threads.
"""
