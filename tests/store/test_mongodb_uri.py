"""storage.mongodb_uri: the same repositories against an external MongoDB-protocol server.

No mongod package can be installed here, so the external server is a SecantusDB started by the test on its
own port, exactly as an operator would run a separate database. This covers the other client factory path:
no child process of ours, no data-dir lock on the database, and create-admin while the server runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from altegon_rt.testing.process import ServerProcess


@pytest.fixture
def external_db(tmp_path: Path) -> Iterator[str]:
    launch = "import sys; from secantus.cli import main; sys.exit(main())"
    proc = subprocess.Popen(
        [sys.executable, "-c", launch, "--host", "127.0.0.1", "--port", "0", "--storage-path", str(tmp_path / "ext")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert proc.stderr is not None
    port = None
    for line in proc.stderr:
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if found:
            port = found.group(1)
            break
    assert port, "external database did not start"
    try:
        yield f"mongodb://127.0.0.1:{port}/?directConnection=true"
    finally:
        proc.terminate()
        proc.wait(30)


def test_server_on_external_database(tmp_path: Path, external_db: str) -> None:
    env = {"ALTEGON_STORAGE_MONGODB_URI": external_db, "ALTEGON_STORAGE_DATABASE": "altegon_ext"}
    server = ServerProcess(tmp_path / "data", env=env)
    try:
        assert httpx.get(f"{server.url}/readyz").json() == {"status": "ready", "storage": "mongodb"}
        assert not (tmp_path / "data" / "db").exists()  # no embedded database was started
        made = subprocess.run(
            [sys.executable, "-m", "altegon_rt", "create-admin", "--email", "ops@example.com", "--password-stdin",
             "--data-dir", str(tmp_path / "data")],
            input="ops password 1\n", capture_output=True, text=True, timeout=60, env={**_clean_env(), **env},
        )  # fmt: skip
        assert made.returncode == 0, made.stderr  # works while the server runs: MongoDB needs no lock
        r = httpx.post(f"{server.url}/auth/login", json={"userName": "ops@example.com", "password": "ops password 1"})
        assert r.status_code == 200
        body = {"email": "x@example.com", "fName": "a", "lName": "b", "phoneNumber": "1", "country": "c",
                "password": "password 1"}  # fmt: skip
        assert httpx.post(f"{server.url}/auth/register", json=body).status_code == 201
        assert httpx.post(f"{server.url}/auth/register", json=body).status_code == 409  # unique index exists
    finally:
        assert server.terminate() == 0


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ALTEGON_")}
