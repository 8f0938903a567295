"""Start the real entry points as subprocesses on 127.0.0.1 for tests and benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
# Variables of the developer's shell that would change what the server does.
_LEAKY_VARIABLES = ("DATABASE_URL", "BEDROCK_ENABLED", "CELERY_BROKER_URL", "DATASET_S3_BUCKET")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without AWS and other leaky variables, plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key not in _LEAKY_VARIABLES
    }
    env.update(extra or {})
    return env


def server_environment(
    data_dir: Path, port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for `python serve.py`: this DATA_DIR and PORT, no AWS, plus `extra`."""
    env = child_environment({"DATA_DIR": str(data_dir), "HOST": "127.0.0.1", "PORT": str(port)})
    env.update(extra or {})
    return env


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a child process, killing it if it does not exit within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_until_healthy(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 180
) -> None:
    """Poll GET / until it answers 200; fail with the server log if the process dies or hangs."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not answer within {timeout} s:\n{log.read_text()}")
        time.sleep(0.3)


@contextmanager
def running_server(
    data_dir: Path, extra_env: Mapping[str, str] | None = None, log_path: Path | None = None
) -> Iterator[str]:
    """Run `python serve.py` on a free port with this DATA_DIR; yield its base URL."""
    port = free_port()
    log_path = log_path or data_dir.parent / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "serve.py")],
            env=server_environment(data_dir, port, extra_env),
            cwd=data_dir.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url, process, log_path)
            yield url
        finally:
            stop(process)
