"""The JWT signing secret: from config/env when given, otherwise generated once into the data dir (0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from altegon_rt.errors import ConfigError

SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name, not a secret


def load_or_create_secret(configured: str, data_dir: Path) -> str:
    if configured:
        return configured
    path = data_dir / SECRET_FILE
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
