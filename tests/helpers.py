"""Running the real CLI and a real uvicorn server, from tests and from the benchmarks in bench/."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


PINNED_NOW = "2026-11-26T12:00:00"  # sunsets in the shipped definitions are relative to this day


def env_for(database: Path, project: Path = ROOT, *, now: str | None = PINNED_NOW, **extra: str) -> dict[str, str]:
    """The environment of a tapflow process: no TAPFLOW_* inherited, then the database, the project,
    the clock (``now=None`` for the real one) and ``extra`` (full names: TAPFLOW_QUERY_TIMEOUT_S=...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAPFLOW_")}
    env |= {"TAPFLOW_DATABASE": str(database), "TAPFLOW_PROJECT_DIR": str(project)}
    if now is not None:
        env["TAPFLOW_NOW"] = now
    return env | extra


def tapflow(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``tapflow ARGS`` as a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``tapflow serve`` on a loopback port (a free one unless ``port`` is given), as a context manager:
    entering starts it and waits until /health answers; leaving sends SIGTERM and waits for the exit
    (a clean shutdown), killing it only past ``stop_s``.

    ``args`` are appended to the serve command. The server's output goes to an anonymous temporary
    file (never a pipe nobody reads, which would stall a chatty server), shown if the server dies at
    start-up and readable with ``output()``; ``quiet=True`` discards it (benchmarks).
    """

    def __init__(
        self,
        env: dict[str, str],
        *,
        port: int | None = None,
        args: Sequence[str] = (),
        quiet: bool = False,
        wait_s: float = 60,
        stop_s: float = 30,
    ):
        self.env, self.args, self.wait_s, self.stop_s = env, tuple(args), wait_s, stop_s
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = None if quiet else tempfile.TemporaryFile(mode="w+")
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_until_up()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.wait_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited at start-up (code {self.proc.returncode}):\n{self.output()}")
            try:
                httpx.get(self.base + "/health", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.base} did not answer within {self.wait_s:g} s:\n{self.output()}"
                    ) from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=self.stop_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL the server (no shutdown of any kind), then release what the helper holds."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        self.__exit__()

    def output(self) -> str:
        """What the server printed so far (empty when quiet)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def peak_rss_mib(self) -> float:
        """VmHWM: the peak resident set size of the server process so far (Linux)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


@contextmanager
def running_server(env: dict[str, str], **options) -> Iterator[str]:
    """A ``Server`` for the length of a ``with`` block; yields its base URL."""
    with Server(env, **options) as server:
        yield server.base


def keyed_copy(database: Path, folder: Path, keys: dict[str, tuple[str, list[str]]]) -> tuple[Path, Path]:
    """A copy of ``database`` in ``folder`` and a keys file there for ``keys`` (name -> (key, scopes))."""
    copy = folder / "tapflow.duckdb"
    shutil.copy(database, copy)
    lines = ["keys:"] + [
        f"  - {{name: {name}, key_sha256: {hashlib.sha256(key.encode()).hexdigest()}, scopes: [{', '.join(scopes)}]}}"
        for name, (key, scopes) in keys.items()
    ]
    path = folder / "keys.yml"
    path.write_text("\n".join(lines) + "\n")
    return copy, path


def server_on_copy(database: Path, folder: Path, **settings: str):
    """``running_server`` over a copy of ``database`` in ``folder``, with TAPFLOW_* ``settings``."""
    copy = folder / "tapflow.duckdb"
    shutil.copy(database, copy)
    return running_server(env_for(copy, **settings))


def module_server(**settings: str) -> Any:
    """A module-scoped pytest fixture: a real server over a copy of the demo data with TAPFLOW_*
    ``settings``; the fixture's value is its base URL."""
    import pytest

    @pytest.fixture(scope="module")
    def fixture(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
        with server_on_copy(demo_db, tmp_path_factory.mktemp("server"), **settings) as url:
            yield url

    return fixture
