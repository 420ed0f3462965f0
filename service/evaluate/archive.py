"""Archive files: one expired day of the log, compressed, with a manifest that vouches for it.

Layout under the archive directory (``ARCHIVE_DIR``)::

    2026-01-01/log-0/decisions.jsonl.gz    every decision of the day, as `elicit export --format jsonl`
    2026-01-01/log-0/decisions.dsjson.gz   its slate and prompt decisions as VW DSJSON (service/evaluate/export.py)
    2026-01-01/log-0/outcomes.jsonl.gz     the day's outcome events, as stored
    2026-01-01/log-0/manifest.json         counts and SHA-256 of each file — written last
    2026-01-01/feedback-0/feedback.jsonl.gz, manifest.json   explicit feedback (its own retention)

A *part* exists once its ``manifest.json`` does. Every file is written to a temporary
name, fsync'ed and renamed, the manifest last, then the directory is fsync'ed: a crash at
any point leaves either no manifest (the part is rewritten from the store by the next
run) or a complete part. A day normally has one part per unit; a later part holds only
documents that reached the store after the earlier ones were archived and deleted.

Each line of a ``.jsonl.gz`` file is one document, JSON with ``event_id`` (decisions) or
``_id`` (others) — what :func:`read_part` gives back as the stored document.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from service.core.errors import ArchiveError
from service.evaluate.export import DSJSON_WRITERS, jsonl_record
from service.log.spool import _fsync_dir  # a renamed file survives a crash once its directory is synced

FORMAT = 1
MANIFEST = "manifest.json"
#: Per unit: the collections it archives (each ``<collection>.jsonl.gz``).
UNITS: dict[str, tuple[str, ...]] = {"log": ("decisions", "outcomes"), "feedback": ("feedback",)}
DSJSON = "decisions.dsjson.gz"
DAY_MS = 86_400_000


def day_name(since_ms: int) -> str:
    """>>> day_name(1_767_225_600_000)
    '2026-01-01'"""
    return dt.datetime.fromtimestamp(since_ms / 1000, dt.UTC).date().isoformat()


def day_start(name: str) -> int:
    """>>> day_start("2026-01-01")
    1767225600000"""
    return int(dt.datetime.combine(dt.date.fromisoformat(name), dt.time(0), dt.UTC).timestamp() * 1000)


def _line(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode()


def _as_record(collection: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    return jsonl_record(doc) if collection == "decisions" else dict(doc)


def _from_record(collection: str, record: dict[str, Any]) -> dict[str, Any]:
    if collection == "decisions":
        record["_id"] = record.pop("event_id")
    return record


class _AtomicGzip:
    """A gzip file written under a temporary name; :meth:`commit` fsyncs and renames it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temporary = path.with_name(f".{path.name}.tmp")
        self.raw: IO[bytes] = open(self.temporary, "wb")  # noqa: SIM115 — closed by commit/abort
        self.gz = gzip.GzipFile(fileobj=self.raw, mode="wb", compresslevel=6, mtime=0)
        self.records = 0

    def write(self, record: Mapping[str, Any]) -> None:
        self.gz.write(_line(record))
        self.records += 1

    def commit(self) -> dict[str, Any]:
        self.gz.close()
        self.raw.flush()
        os.fsync(self.raw.fileno())
        self.raw.close()
        os.replace(self.temporary, self.path)
        return {"records": self.records, "sha256": _sha256(self.path)}

    def abort(self) -> None:
        self.gz.close()
        self.raw.close()
        self.temporary.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _count_lines(path: Path) -> int:
    with gzip.open(path, "rb") as handle:
        return sum(1 for _ in handle)


@dataclass(frozen=True)
class Part:
    """One archived part: its directory and manifest."""

    path: Path
    manifest: Mapping[str, Any]

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.manifest["counts"])

    def verify(self) -> None:
        """Every file is there, unchanged, with the manifest's number of records."""
        for name, expected in self.manifest["files"].items():
            path = self.path / name
            if not path.exists():
                raise ArchiveError(f"{path} is missing: the archive part {self.path} is incomplete")
            if _sha256(path) != expected["sha256"]:
                raise ArchiveError(f"{path} does not match its manifest (SHA-256 differs)")
            found = _count_lines(path)
            if found != expected["records"]:
                raise ArchiveError(f"{path} holds {found} records, its manifest says {expected['records']}")

    def ids(self, collection: str) -> Iterator[Any]:
        for record in read_part(self, collection):
            yield record["_id"]


def parts(root: Path, day: str, unit: str) -> list[Part]:
    """The complete parts of ``unit`` for ``day`` (those with a manifest), in order."""
    found = []
    directory = Path(root) / day
    if not directory.is_dir():
        return []
    for path in sorted(directory.glob(f"{unit}-*"), key=lambda p: int(p.name.rsplit("-", 1)[1])):
        manifest = path / MANIFEST
        if manifest.exists():
            found.append(Part(path, json.loads(manifest.read_text())))
    return found


def write_part(root: Path, day: str, unit: str, sources: Mapping[str, Iterable[Mapping[str, Any]]],
               since_ms: int, until_ms: int, now_ms: int) -> Part:
    """Write one part of ``unit`` for ``day`` from ``sources`` (collection → documents),
    read it back to verify its counts, and return it. The part number is the first one
    without a manifest (an interrupted write of it is overwritten)."""
    number = len(parts(root, day, unit))
    path = Path(root) / day / f"{unit}-{number}"
    path.mkdir(parents=True, exist_ok=True)
    (path / MANIFEST).unlink(missing_ok=True)  # cannot exist (``number`` is the first without), but never trust a stale one
    files: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    open_files: list[_AtomicGzip] = []
    try:
        for collection in UNITS[unit]:
            out = _AtomicGzip(path / f"{collection}.jsonl.gz")
            open_files.append(out)
            dsjson = _AtomicGzip(path / DSJSON) if collection == "decisions" else None
            if dsjson is not None:
                open_files.append(dsjson)
            for doc in sources[collection]:
                out.write(_as_record(collection, doc))
                writer = DSJSON_WRITERS.get(str(doc.get("kind"))) if dsjson is not None else None
                if writer is not None:
                    dsjson.write(writer(doc))  # type: ignore[union-attr]
            counts[collection] = out.records
            files[out.path.name] = out.commit()
            if dsjson is not None:
                files[DSJSON] = dsjson.commit()
    except BaseException:
        for out in open_files:
            if not out.raw.closed:
                out.abort()
        raise
    manifest = {"format": FORMAT, "day": day, "unit": unit, "part": number, "since": int(since_ms),
                "until": int(until_ms), "written_at": int(now_ms), "counts": counts, "files": files}
    temporary = path / f".{MANIFEST}.tmp"
    with open(temporary, "w") as handle:
        json.dump(manifest, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    part = Part(path, manifest)
    part.verify()  # read back what is on disk before the manifest makes it count
    os.replace(temporary, path / MANIFEST)
    _fsync_dir(path)
    _fsync_dir(path.parent)
    return part


def read_part(part: Part, collection: str) -> Iterator[dict[str, Any]]:
    path = part.path / f"{collection}.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                yield _from_record(collection, json.loads(line))
            except (json.JSONDecodeError, KeyError) as exc:
                raise ArchiveError(f"{path} line {number}: not an archived record ({exc})") from exc


def days(root: Path) -> list[str]:
    """The archived days under ``root``, oldest first."""
    root = Path(root)
    if not root.is_dir():
        raise ArchiveError(f"{root} is not an archive directory")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _is_day(p.name))


def _is_day(name: str) -> bool:
    try:
        dt.date.fromisoformat(name)
    except ValueError:
        return False
    return True


def read_archive(root: Path, collection: str = "decisions", since_ms: int | None = None,
                 until_ms: int | None = None) -> Iterator[dict[str, Any]]:
    """Every archived document of ``collection`` with ``t`` in ``[since_ms, until_ms)``,
    day by day (oldest first), each part verified before it is read."""
    unit = next(name for name, collections in UNITS.items() if collection in collections)
    for day in days(root):
        start = day_start(day)
        if (since_ms is not None and start + DAY_MS <= since_ms) or (until_ms is not None and start >= until_ms):
            continue
        for part in parts(root, day, unit):
            part.verify()
            for doc in read_part(part, collection):
                t = int(doc.get("t", start))
                if (since_ms is None or t >= since_ms) and (until_ms is None or t < until_ms):
                    yield doc
