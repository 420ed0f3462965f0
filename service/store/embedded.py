"""The embedded MongoDB-compatible server (``nx-27017``, a wire-protocol server on SQLite).

Started when no MongoDB URI is configured: on a free loopback port, one SQLite file per
logical database under the data directory, and a pid and log file of its own so several
instances can run side by side (docs/design.md, "The embedded server is not MongoDB").
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from service.core.errors import StoreUnavailable


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie (killed, not yet reaped) answers signal 0 but runs nothing."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust the signal
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def remove_stale_pid_file(pid_file: Path) -> bool:
    """Drop a pid file whose process is gone, so a store killed with ``kill -9`` can restart.

    nx-27017 refuses to start while its pid file names a process that answers signal 0,
    and a ``kill -9`` leaves the file behind (and, in a container whose init does not
    reap, a zombie under that pid). A live owner keeps its file: two servers on one data
    directory must still be refused.
    """
    try:
        pid = int(pid_file.read_text().strip())
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        pid = None
    if pid is not None and _alive(pid):
        return False
    pid_file.unlink(missing_ok=True)
    return True


def _server_command() -> list[str]:
    beside_python = Path(sys.executable).with_name("nx-27017")
    if beside_python.exists():
        return [str(beside_python)]
    found = shutil.which("nx-27017")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from nx_27017.nx_27017 import main; sys.exit(main())"]


class EmbeddedMongo:
    """Run ``nx-27017`` as a child process for as long as the context is open.

    >>> EmbeddedMongo(data_dir="/tmp/elicit-doc", port=27999).uri
    'mongodb://127.0.0.1:27999/?directConnection=true'
    """

    def __init__(self, data_dir: str | os.PathLike[str], port: int | None = None, host: str = "127.0.0.1") -> None:
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    def command(self) -> list[str]:
        store_dir = self.data_dir / "store"
        return [
            *_server_command(),
            "--data-dir", str(store_dir),
            "--host", self.host,
            "--port", str(self.port),
            "--log-file", str(self.data_dir / f"nx-{self.port}.log"),
            "--pid-file", str(self.pid_file),
        ]

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (the serving benchmark reads its CPU)."""
        return None if self._process is None else self._process.pid

    @property
    def pid_file(self) -> Path:
        return self.data_dir / f"nx-{self.port}.pid"

    def start(self, timeout_s: float = 20.0) -> EmbeddedMongo:
        (self.data_dir / "store").mkdir(parents=True, exist_ok=True)
        remove_stale_pid_file(self.pid_file)
        self._process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise StoreUnavailable(f"embedded store exited with code {self._process.returncode}; see {self.data_dir}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise StoreUnavailable(f"embedded store did not listen on {self.host}:{self.port} within {timeout_s} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> EmbeddedMongo:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
