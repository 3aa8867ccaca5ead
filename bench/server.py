"""Start and stop a real `tapflow serve` for benchmarks; read its peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


class Server:
    def __init__(self, db: Path, port: int, **settings: str):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAPFLOW_")}
        env |= {"TAPFLOW_DATABASE": str(db), "TAPFLOW_PROJECT_DIR": str(ROOT), "TAPFLOW_LOG_LEVEL": "warning"}
        env |= {f"TAPFLOW_{k.upper()}": v for k, v in settings.items()}
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=ROOT,
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self) -> Server:
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited at start-up")
            try:
                httpx.get(self.base + "/health", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.base} did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def peak_rss_mib(self) -> float:
        """VmHWM: the peak resident set size of the server process so far."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")
