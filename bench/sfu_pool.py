"""The load workers of bench/sfu.py seen from the orchestrator: one publisher process and N receiver processes
(bench/sfu_load.py), all pinned to the load core, and one measured run over them."""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import sfu_load

Item = tuple[dict[str, Any], dict[str, Any], int | None, int]  # (local, remote, ssrc, payload type)


@dataclass(frozen=True, slots=True)
class Scenario:
    rooms: int  # one publisher each
    subscribers: int  # per room

    @property
    def label(self) -> str:
        return f"{self.rooms}x(1→{self.subscribers})"

    @property
    def streams(self) -> int:
        return self.rooms * self.subscribers


class WorkerError(RuntimeError):
    pass


class Pool:
    def __init__(self, receivers: int, cpu: int | None) -> None:
        ctx = multiprocessing.get_context("spawn")  # the orchestrator has threads: never fork it
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        for _ in range(1 + receivers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=sfu_load.serve, args=(child, cpu), daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)
        self.publisher, self.receivers = self.conns[0], self.conns[1:]
        self.profiles: list[str] = []

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def _ask(self, conns: list[Connection], commands: list[tuple[str, Any]], timeout_s: float = 120) -> list[Any]:
        for conn, command in zip(conns, commands, strict=True):
            conn.send(command)
        answers = []
        for conn in conns:
            if not conn.poll(timeout_s):
                raise WorkerError("a load worker did not answer in time")
            status, value = conn.recv()
            if status != "ok":
                raise WorkerError(value)
            answers.append(value)
        return answers

    def create_publishers(self, count: int, host: str) -> list[dict[str, Any]]:
        made = self._ask([self.publisher], [("create", {"count": count, "host": host})])[0]
        return [{**m, "worker": 0} for m in made]

    def create_subscribers(self, count: int, host: str) -> list[dict[str, Any]]:
        """``count`` receiving peers spread round-robin over the receiver workers."""
        shares = [count // len(self.receivers) + (i < count % len(self.receivers)) for i in range(len(self.receivers))]
        made = self._ask(self.receivers, [("create", {"count": n, "host": host}) for n in shares])
        for w, group in enumerate(made):
            for m in group:
                m["worker"] = w + 1
        out: list[dict[str, Any]] = []
        for i in range(max(shares, default=0)):
            out += [group[i] for group in made if i < len(group)]
        return out

    def start(self, items: list[Item]) -> None:
        """Tell each peer its far side (publishers get an SSRC); peers stay where create_* put them."""
        by_worker: dict[int, list[Any]] = {}
        for local, remote, ssrc, pt in items:
            by_worker.setdefault(local["worker"], []).append((local["index"], remote, ssrc, pt))
        workers = sorted(by_worker)
        self._ask([self.conns[w] for w in workers], [("start", by_worker[w]) for w in workers])

    def connect(self, timeout_s: float = 30) -> list[str]:
        """ICE + DTLS for every started peer; the SRTP profiles negotiated."""
        answers = self._ask(self.conns, [("connect", timeout_s)] * len(self.conns), timeout_s + 30)
        missing = [a for a in answers if a["connected"] != a["of"]]
        if missing:
            raise WorkerError(f"peers did not connect: {missing}")
        self.profiles = sorted({p for a in answers for p in a["profiles"]})
        return self.profiles

    def run(self, pps: float, warm_s: float, measure_s: float, sample_every: int) -> dict[str, Any]:
        """Start one run on every worker (answers come with :meth:`results`); its timing spec."""
        t_start = time.monotonic() + 0.3
        spec = {"t_start": t_start, "t_measure": t_start + warm_s, "t_end": t_start + warm_s + measure_s,
                "pps": pps, "sample_every": sample_every}  # fmt: skip
        for conn in self.conns:
            conn.send(("run", spec))
        return spec

    def results(self, timeout_s: float) -> list[dict[str, Any]]:
        answers = []
        for conn in self.conns:
            if not conn.poll(timeout_s):
                raise WorkerError("a load worker did not finish its run")
            status, value = conn.recv()
            if status != "ok":
                raise WorkerError(value)
            answers.append(value)
        return answers

    def close_peers(self) -> None:
        self._ask(self.conns, [("close", None)] * len(self.conns))

    def stop(self) -> None:
        for conn in self.conns:
            try:
                conn.send(("exit", None))
                conn.poll(5) and conn.recv()
            except (OSError, EOFError):
                pass
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
