"""The local ClickHouse server as a child process on free loopback ports (for tests and benchmarks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path



def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_pids(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux ``/proc``), e.g. a server's workers."""
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()]


def memory_of(pid: int, field: str = "VmRSS") -> int:
    """Bytes of a process's resident memory (``VmRSS``) or its peak (``VmHWM``), from Linux ``/proc``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"no {field} for process {pid}")


@dataclass
class ServerProcess:
    """One ``feelback warehouse`` process; ``start``/``stop`` may be called again on the same data directory."""

    data_dir: Path
    password: str = "test-secret"
    host: str = "127.0.0.1"
    http_port: int = field(default_factory=free_port)
    native_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://default:{self.password}@{self.host}:{self.http_port}/default?native_port={self.native_port}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "FEELBACK_CLICKHOUSE_URL": self.url, "FEELBACK_WAREHOUSE_DATA_DIR": str(self.data_dir)}

    @property
    def log_path(self) -> Path:
        return self.data_dir.with_name(self.data_dir.name + ".log")

    def spawn(self, output=subprocess.PIPE) -> subprocess.Popen:
        """Start the process; its output goes to ``output`` (pipes by default, for a short-lived run)."""
        return subprocess.Popen(
            [sys.executable, "-m", "feelback", "warehouse"],
            env=self.env(),
            stdout=output,
            stderr=subprocess.STDOUT if output is not subprocess.PIPE else subprocess.PIPE,
            text=True,
        )

    def start(self, timeout: float = 60) -> "ServerProcess":
        """Start and wait for /ping; output goes to ``log_path`` (a pipe nobody reads could block the server)."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:
            self.process = self.spawn(output=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"warehouse exited with {self.process.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://{self.host}:{self.http_port}/ping", timeout=1) as response:
                    if response.read() == b"Ok.\n":
                        return self
            except OSError:
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError(f"warehouse did not answer /ping within {timeout} s")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> float:
        """Stop the server with ``sig``; return how many seconds it took to exit."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        return time.monotonic() - began
