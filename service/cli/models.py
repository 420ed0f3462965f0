"""``elicit models backup|restore``: model snapshots to files and back.

A snapshot is its bytes (GridFS ``modelblobs``) and its index document (``models``). A
backup writes, per version, ``<kind>-v<N>.vw`` (the bytes) and ``<kind>-v<N>.json`` (the
document without its GridFS id), checked against the stored SHA-256. A restore publishes
every backed-up version the store lacks, through the same ``save_model`` the learner uses
(bytes first, then the document; a version already there is left alone), so it is
idempotent and never overwrites a newer model. Workers pick the newest version up within
``MODEL_REFRESH_S``; the learner continues from it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click

from service.cli.offline import offline_runtime

KINDS = ("slate", "prompt")
#: Fields of the index document that the store sets itself on publishing.
STORED = {"_id", "file_id", "kind", "version", "sha256", "size"}


@click.group()
def models() -> None:
    """Back up and restore model snapshots."""


@models.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--all", "every", is_flag=True, help="Every published version (default: the newest of each kind).")
def backup(directory: str, every: bool) -> None:
    """Write model snapshots (bytes + index document) to DIRECTORY."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    runtime = offline_runtime()
    written = 0
    try:
        store = runtime.store
        docs = list(store.models.find({})) if every else [d for k in KINDS if (d := store.latest_model_meta(k))]
        for doc in docs:
            data = store.load_model(doc["file_id"])
            if hashlib.sha256(data).hexdigest() != doc["sha256"]:
                raise click.ClickException(f"{doc['_id']}: stored bytes do not match their SHA-256")
            name = f"{doc['kind']}-v{doc['version']}"
            (out / f"{name}.vw").write_bytes(data)
            meta = {key: value for key, value in doc.items() if key != "file_id"}
            (out / f"{name}.json").write_text(json.dumps(meta, default=str, indent=1))
            written += 1
    finally:
        runtime.close()
    click.echo(f"backed up {written} model snapshot(s) to {out}")


@models.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def restore(directory: str) -> None:
    """Publish the snapshots in DIRECTORY that the store does not have (idempotent)."""
    runtime = offline_runtime()
    restored = skipped = 0
    try:
        store = runtime.store
        for path in sorted(Path(directory).glob("*.json")):
            meta = json.loads(path.read_text())
            data = path.with_suffix(".vw").read_bytes()
            if hashlib.sha256(data).hexdigest() != meta["sha256"]:
                raise click.ClickException(f"{path.with_suffix('.vw')}: bytes do not match the SHA-256 in {path.name}")
            if store.models.find_one({"_id": meta["_id"]}) is not None:
                skipped += 1
                continue
            store.save_model(meta["kind"], int(meta["version"]), data, {k: v for k, v in meta.items() if k not in STORED})
            restored += 1
    finally:
        runtime.close()
    click.echo(f"restored {restored} model snapshot(s), {skipped} already present")
