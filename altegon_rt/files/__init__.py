"""Uploaded files: room files on disk, and recording blobs on disk or in Azure Blob Storage; safe names,
streamed writes and reads, signed download links."""
