"""The local spool: an append-only, fsync'd log of the decisions and outcomes that MongoDB
could not take, shipped to it when it is back (service/log/durable.py does the shipping).

Layout: JSON-lines *segments* in ``SPOOL_DIR``, one record per line
(``{"k": "decision"|"outcome", "doc": {...}, "unchecked": bool}``). A process appends to
its own active segment, which it holds under an exclusive ``flock``; shipping first
closes the active segment (the next append starts a new one) and then ships every segment
it can lock — its own closed ones and those of processes that died (their locks died
with them) — deleting each once all its records are in MongoDB.

Why this is safe:

* a record is acknowledged only after ``fsync`` of the segment (and of the directory, for
  a new segment), so an acknowledged record survives ``kill -9`` and power loss; a torn
  last line can only be a record that was never acknowledged, and is skipped;
* records are inserted by their ids (decision ``_id`` = event id, outcome ``_id`` =
  ``event/outcome id``), so shipping a segment twice (a crash between insert and delete)
  inserts nothing twice: exactly once;
* a segment unlinked by one shipper while another waited for its lock is recognised
  (link count 0) and skipped.

Bounded by ``SPOOL_MAX_BYTES``: past it, :class:`~service.core.errors.SpoolFull` (503).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from service.core.errors import SpoolFull

log = logging.getLogger("elicit.spool")

Record = dict[str, Any]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_segment(handle: IO[bytes]) -> list[Record]:
    """Records of a segment; a torn (unacknowledged) last line is dropped."""
    records = []
    for line in handle.read().split(b"\n"):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            log.warning("skipping a torn spool record (it was never acknowledged)")
    return records


class Spool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._active: IO[bytes] | None = None
        self._active_records = 0
        self._serial = 0
        self._bytes = 0
        self._records = 0
        self._decisions: dict[str, Record] = {}  # event id → spooled decision of this process
        self.directory.mkdir(parents=True, exist_ok=True)
        self._rescan()

    # appending -----------------------------------------------------------------------------

    def append(self, kind: str, doc: dict[str, Any], unchecked: bool = False) -> None:
        """Durably append one record; returns once it is fsync'd. :class:`SpoolFull` past the bound."""
        line = json.dumps({"k": kind, "doc": doc, "unchecked": unchecked}, separators=(",", ":"), allow_nan=False)
        data = line.encode() + b"\n"
        with self._lock:
            if self._bytes + len(data) > self.max_bytes:
                raise SpoolFull(f"the store is unreachable and the local spool is full ({self.max_bytes} bytes); retry later")
            if self._active is None:
                self._open_segment()
            assert self._active is not None
            self._active.write(data)
            self._active.flush()
            os.fsync(self._active.fileno())
            self._bytes += len(data)
            self._records += 1
            self._active_records += 1
            if kind == "decision":
                self._decisions[str(doc["_id"])] = doc

    def _open_segment(self) -> None:
        self._serial += 1
        name = f"seg-{int(time.time() * 1000):013d}-{os.getpid()}-{self._serial:06d}.jsonl"
        handle = open(self.directory / name, "ab")  # noqa: SIM115 - held open while active
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        _fsync_dir(self.directory)  # the new name itself must survive a crash
        self._active, self._active_records = handle, 0

    def _close_active(self) -> None:
        if self._active is not None:
            self._active.close()  # closing releases the flock: the segment is now shippable
            self._active = None

    # reading --------------------------------------------------------------------------------

    def depth(self) -> int:
        """Records waiting (this process's and any orphaned segments seen at the last scan)."""
        return self._records

    def local_decision(self, event_id: str) -> Record | None:
        return self._decisions.get(event_id)

    def _rescan(self) -> None:
        """Recount what is on disk (segments of dead processes included)."""
        total_bytes = total_records = 0
        for path in self.directory.glob("seg-*.jsonl"):
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                continue
            total_bytes += len(data)
            total_records += sum(1 for line in data.split(b"\n") if line.strip())
        self._bytes, self._records = total_bytes, total_records

    # shipping -------------------------------------------------------------------------------

    def ship(self, sink: Callable[[Record], None]) -> int:
        """Send every shippable record to ``sink`` (which raises if the store fails), deleting
        each segment once all of it is in. Returns the number of records shipped."""
        with self._lock:
            if self._active is not None and self._active_records:
                self._close_active()
            active = self._active.name if self._active is not None else None
        shipped = 0
        for path in sorted(self.directory.glob("seg-*.jsonl")):
            if active is not None and str(path) == active:
                continue
            shipped += self._ship_segment(path, sink)
        with self._lock:
            self._rescan()
        return shipped

    def _ship_segment(self, path: Path, sink: Callable[[Record], None]) -> int:
        try:
            handle = open(path, "rb")  # noqa: SIM115
        except FileNotFoundError:
            return 0
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # a live process's active segment, or another shipper has it
            if os.fstat(handle.fileno()).st_nlink == 0:
                return 0  # shipped and deleted while we waited
            records = read_segment(handle)
            for record in records:
                sink(record)  # StoreUnavailable stops here; the segment stays for the next pass
            path.unlink()
            _fsync_dir(self.directory)
        with self._lock:
            for record in records:
                if record.get("k") == "decision":
                    self._decisions.pop(str(record["doc"]["_id"]), None)
        return len(records)

    def close(self) -> None:
        with self._lock:
            self._close_active()
