"""Running a tests/demo Node driver against a real server, both inside a private loopback-only network
namespace where one can be made (root), else on the host's loopback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from altegon_rt.testing.netns import loopback_namespace
from altegon_rt.testing.process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def run_driver(node: str, prefix: tuple[str, ...], driver: Path, args: list[str], timeout: float) -> dict[str, Any]:
    done = subprocess.run([*prefix, node, str(driver), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, check=False)  # fmt: skip
    print(done.stderr)  # the driver's progress and measurements (shown with -s, or when the test fails)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    outcome = json.loads(lines[-1])
    assert outcome["ok"], f"{outcome['error']}\n{done.stderr}"
    return outcome["result"]  # type: ignore[no-any-return]


def in_chromium(node: str, data_dir: Path, driver: Path, args: list[str], timeout: float) -> dict[str, Any]:
    """Start a server, run ``node driver <server url> *args``, stop the server (cleanly); the driver's result."""
    assert os.access(CHROMIUM, os.X_OK), "Debian's chromium is required (.ci/apt-test.txt)"
    with loopback_namespace() as netns:
        server = ServerProcess(data_dir, wrapper=netns or ())
        try:
            result = run_driver(node, netns or (), driver, [server.url, *args], timeout)
        finally:
            status = server.terminate()
        assert status == 0 and "Traceback" not in server.log_text(), server.log_text()
    print(f"network namespace: {'private, loopback only' if netns else 'none (host loopback)'}")
    return result
