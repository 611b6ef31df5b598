"""Turning a client's file name into one that is safe to show and store (never used as a disk path)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNSAFE = re.compile(r'[<>:"|?*]')
_SPACES = re.compile(r"\s+")


def sanitise(name: str) -> str:
    """The last path part of ``name`` without control or reserved characters, capped, never empty or dotted."""
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = _CONTROL.sub("", name)
    name = _UNSAFE.sub("_", name)
    name = _SPACES.sub(" ", name).strip().lstrip(".").strip()
    if not name:
        return "file"
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and 0 < len(ext) <= 16 else ""
        keep = MAX_NAME - (len(ext) + 1 if ext else 0)
        name = (stem if ext else name)[:keep].rstrip() + (f".{ext}" if ext else "")
    return name


def with_suffix(name: str, n: int) -> str:
    """``report.pdf`` → ``report (2).pdf``: the n-th name for a clash."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({n})"
    return f"{stem} ({n}).{ext}"


def attachment_disposition(name: str) -> str:
    """A ``Content-Disposition`` that makes a browser save the bytes as ``name`` (RFC 6266, RFC 5987 for UTF-8)."""
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
