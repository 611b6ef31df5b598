"""Secrets (JWT signing, transcript encryption): from config/env, else generated once into the data dir (0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from altegon_rt.errors import ConfigError

JWT_SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name, not a secret
ENCRYPTION_SECRET_FILE = "encryption-secret"  # noqa: S105 - a file name, not a secret


def load_or_create_secret(configured: str, data_dir: Path, file_name: str = JWT_SECRET_FILE) -> str:
    """The configured secret, else the one kept in ``data_dir/file_name``, made on first use (mode 0600)."""
    if configured:
        return configured
    path = data_dir / file_name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text().strip()
        if len(text) < 32:
            raise ConfigError(f"{path} holds a secret under 32 characters; delete it to make a new one") from None
        return text
    with os.fdopen(fd, "w") as fh:
        value = secrets.token_urlsafe(48)
        fh.write(value + "\n")
    return value
