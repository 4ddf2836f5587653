"""What every scenario uses inside its child process: the real web server, timed requests, the machine."""

from __future__ import annotations

import http.client
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_VAR = ROOT / "var" / "bench"
RATE_LIMIT = "1000000"  # requests per minute per token: the bench must measure latency, not the throttle


def machine() -> dict[str, Any]:
    """CPU model, cores and RAM of this machine, from /proc where it exists."""
    cpu = platform.processor() or platform.machine()
    ram_gib = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 1,
        "ram_gib": round(ram_gib, 1),
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }


@dataclass
class CpuUse:
    """CPU time spent during a `cpu_use()` block, in cores (1.0 = one core busy for the whole block)."""

    machine: float = 0.0  # every process on the machine: this one, its children, the database server, the rest
    ours: float = 0.0  # this process and the children it waited for

    def text(self) -> str:
        return (
            f"{self.machine:.2f} of {os.cpu_count() or 1} cores busy on the machine, {self.ours:.2f} in our processes"
        )


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


@contextmanager
def cpu_use() -> Iterator[CpuUse]:
    """Measures how busy the machine's CPUs were during the block, to tell a CPU-bound run from a slow one."""
    use = CpuUse()
    busy0, total0 = _busy_jiffies()
    mine0 = os.times()
    yield use
    busy1, total1 = _busy_jiffies()
    mine1 = os.times()
    cores = os.cpu_count() or 1
    use.machine = round(cores * (busy1 - busy0) / max(1, total1 - total0), 2)
    wall = mine1.elapsed - mine0.elapsed
    spent = sum(mine1[:4]) - sum(mine0[:4])  # user + system, self and waited-for children
    use.ours = round(spent / wall, 2) if wall > 0 else 0.0


def git_commit() -> str:
    """The checked-out commit, with `+` when the working tree has changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+" if dirty.strip() else "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(sorted_ms: list[float], share: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    return sorted_ms[max(0, math.ceil(share * len(sorted_ms)) - 1)]


@dataclass
class Server:
    """A running `guanxi web` on 127.0.0.1, with one kept-alive connection for sequential requests."""

    port: int
    conn: http.client.HTTPConnection | None = None

    def get(self, path: str, token: str) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request("GET", path, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None  # the server closed an idle keep-alive connection: reconnect once
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


@dataclass
class Bench:
    """One scenario run on one database: its size, its request budget, and the tools to measure."""

    db: str  # "sqlite" or "postgresql"
    size: int
    requests: int
    var_dir: Path
    log: Any = sys.stdout

    def say(self, message: str) -> None:
        print(f"    [{self.db}] {message}", file=self.log, flush=True)

    def analyze(self) -> None:
        """After a bulk load, what autovacuum would do before anyone searched: refresh the planner's statistics
        and, on PostgreSQL, vacuum (hint bits set and pages marked all-visible, so reads do not first check
        every loaded row's transaction and write the page back). The bench server runs with autovacuum
        off, so nothing else would; a production server runs it on, as PostgreSQL ships."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")

    def database(self) -> str:
        """The database product and server version the scenario ran on."""
        from django.db import connection

        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SHOW server_version")
                return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
            cursor.execute("SELECT sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"

    @contextmanager
    def serve(self, *, ready_path: str, token: str) -> Iterator[Server]:
        """Start a real `guanxi web` (gunicorn) on a free 127.0.0.1 port; stop it and its workers afterwards."""
        port = free_port()
        guanxi = Path(sys.executable).with_name("guanxi")
        command = [str(guanxi), "web"] if guanxi.exists() else [sys.executable, "-m", "guanxi.cli", "web"]
        env = {**os.environ, "BIND": f"127.0.0.1:{port}", "API_RATE_LIMIT_PER_MINUTE": RATE_LIMIT}
        log_path = self.var_dir / "web.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
            )
        server = Server(port=port)
        try:
            deadline = time.monotonic() + 90
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"guanxi web exited with {process.returncode}; see {log_path}")
                try:
                    status, body = server.get(ready_path, token)
                    if status == 200:
                        break
                    raise RuntimeError(f"{ready_path} answered {status}: {body[:300]!r}")
                except (OSError, http.client.HTTPException):
                    server.conn = None
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"guanxi web did not answer within 90 s; see {log_path}") from None
                    time.sleep(0.3)
            self.say(f"guanxi web is up on 127.0.0.1:{port} (pid {process.pid})")
            yield server
        finally:
            if server.conn is not None:
                server.conn.close()
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)  # the process group this call started: cli + gunicorn
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()

    def measure(self, server: Server, *, label: str, path: str, token: str, warmup: int = 10) -> dict[str, Any]:
        """Send `warmup` untimed requests, then `self.requests` timed ones, one after another; latency stats in ms."""
        for _ in range(warmup):
            server.get(path, token)
        timings: list[float] = []
        body = b""
        for _ in range(self.requests):
            started = time.perf_counter()
            status, body = server.get(path, token)
            timings.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        timings.sort()
        payload = json.loads(body)
        row = {
            "label": label,
            "path": path,
            "requests": len(timings),
            "p50_ms": round(percentile(timings, 0.50), 1),
            "p95_ms": round(percentile(timings, 0.95), 1),
            "max_ms": round(timings[-1], 1),
            "mean_ms": round(sum(timings) / len(timings), 1),
            "matching_rows": payload.get("count") if isinstance(payload, dict) else None,
        }
        self.say(f"{label}: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, max {row['max_ms']} ms")
        return row


def gunicorn_config() -> str:
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    threads = os.environ.get("WEB_THREADS", "4")
    return f"`guanxi web`: gunicorn, {workers} workers × {threads} threads"


def wipe(directory: Path) -> None:
    """Empty a benchmark's own var directory (never the demo's ./var)."""
    if BENCH_VAR not in directory.resolve().parents:
        raise ValueError(f"{directory} is not under {BENCH_VAR}")
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
