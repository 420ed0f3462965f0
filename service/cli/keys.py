"""``elicit keys create|list|revoke``: API keys from the command line (service/http/auth.py)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from service.cli.params import BURST, RATE
from service.core.config import load_config


@click.group()
def keys() -> None:
    """API keys: create (shown once), list, revoke. Stored hashed in MongoDB."""


def _key_store() -> tuple[Any, Callable[[], None]]:
    """The key store of the configured MongoDB (embedded under DATA_DIR when no URI is set)."""
    from service.store import EmbeddedMongo, Store
    from service.store.keys import KeyDocuments, KeyStore

    config = load_config()
    uri, embedded = config.get("MONGO_URI"), None
    if not uri:
        embedded = EmbeddedMongo(Path(str(config["DATA_DIR"]))).start()
        uri = embedded.uri
    store = Store(str(uri), str(config["DB"]), timeout_ms=int(config["STORE_TIMEOUT_MS"]))
    docs = KeyDocuments(store.db)
    docs.ensure_indexes()

    def close() -> None:
        store.close()
        if embedded is not None:
            embedded.stop()

    return KeyStore(docs), close


@keys.command("create")
@click.option("--scope", type=click.Choice(["decide", "read", "admin"]), required=True)
@click.option("--name", default=None, help="What the key is for (shown by `keys list`).")
@click.option("--rate", type=RATE, default=None, help="Requests per second per worker (0: unlimited; default: RATE_LIMIT_PER_S).")
@click.option("--burst", type=BURST, default=None, help="Bucket size (default: RATE_LIMIT_BURST).")
def keys_create(scope: str, name: str | None, rate: float | None, burst: int | None) -> None:
    """Create a key; it is printed once, alone on the last line, and stored only as its hash."""
    store, close = _key_store()
    try:
        key, doc = store.create(scope, name, rate, burst)
    finally:
        close()
    click.echo(f"created key {doc['_id']} (scope {scope}{', name ' + name if name else ''}); "
               "it is shown this once and cannot be recovered:")
    click.echo(key)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
def keys_list(as_json: bool) -> None:
    """Every key's id, scope, name, creation and revocation (never the key)."""
    store, close = _key_store()
    try:
        docs = store.list()
    finally:
        close()
    if as_json:
        click.echo(json.dumps(docs))
        return
    click.echo(f"{'id':<15}{'scope':<8}{'state':<9}{'created':<22}name")
    for doc in docs:
        created = dt.datetime.fromtimestamp(doc["created_at"] / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        state = "revoked" if doc.get("revoked_at") else "active"
        click.echo(f"{doc['_id']:<15}{doc['scope']:<8}{state:<9}{created:<22}{doc.get('name') or ''}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id (workers stop accepting it within AUTH_CACHE_S)."""
    store, close = _key_store()
    try:
        revoked = store.revoke(key_id)
    finally:
        close()
    if not revoked:
        raise click.ClickException(f"no active key {key_id!r}")
    click.echo(f"revoked {key_id}")
