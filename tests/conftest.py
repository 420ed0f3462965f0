"""Fixtures in the Flask tutorial's shape: ``app``, ``client``, ``runner``.

One embedded nx-27017 server per test session (per worker under pytest-xdist), started
exactly as the service starts it and spoken to over the wire; each test gets its own
database on it. Set
``ELICIT_TEST_MONGO_URI`` to run the same suite against a real MongoDB.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from werkzeug.datastructures import Headers

from service.core.clock import ManualClock
from service.core.errors import StoreUnavailable
from service.http.app import create_app
from service.store import EmbeddedMongo, Store

# Property tests are derandomised (the same examples every run, like every other seeded
# test here) and have no per-example deadline: a loaded CI machine must not fail them.
settings.register_profile("elicit", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("elicit")


def _store_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bool]:
    """Where the session's store keeps its files, and whether it is ours to delete: memory-backed
    /dev/shm when the machine has it, as the demo's store (service/cli/demo.py default_store_dir).
    nx-27017 syncs every write, and on a disk the store-bound tests wait for those syncs (measured:
    tests/service/learn/ and the report's experiment tests 79 s on disk, 54 s in /dev/shm).
    Directories left in /dev/shm by a session that was killed are removed first."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        return tmp_path_factory.mktemp("elicit-store"), False
    for stale in shm.glob("elicit-test-store-*"):
        owner = stale.name.split("-")[3]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"elicit-test-store-{os.getpid()}-", dir=shm)), True


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("ELICIT_TEST_MONGO_URI")
    if external:
        yield external
        return
    data_dir, ours = _store_dir(tmp_path_factory)
    try:
        with EmbeddedMongo(data_dir) as server:
            yield server.uri
    finally:
        if ours:
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def store(mongo_uri: str, db_name: str) -> Iterator[Store]:
    """A :class:`Store` on the test's own database, dropped after it."""
    store = Store(mongo_uri, db_name)
    yield store
    store.drop_database()
    store.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


class KeyedClient(FlaskClient):
    """A test client that authenticates like a real one: ``Authorization: Bearer <key>``
    with the admin key made for its app through the real key store (``make_app``), unless
    the request sets its own header; ``client.api_key = None`` sends none."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_key: str | None = self.application.extensions.get("elicit.test_key")

    def open(self, *args: Any, **kwargs: Any) -> Any:
        headers = Headers(kwargs.pop("headers", None))
        if self.api_key and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return super().open(*args, headers=headers, **kwargs)


@pytest.fixture
def make_app(mongo_uri: str, clock: ManualClock, db_name: str, tmp_path: Any) -> Iterator[Any]:
    """Build apps on the test's database (a second call is a 'restart'). Each app gets an
    admin key (unlimited rate) from its own key store, which its ``test_client()`` sends."""
    built: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        config = {
            "MONGO_URI": mongo_uri,
            "DB": db_name,
            "CLOCK": clock,
            "BACKGROUND_JOBS": False,
            "SEED": 1234,
            "TESTING": True,
            "SPOOL_DIR": str(tmp_path / "spool"),
            **overrides,
        }
        app = create_app(config)
        built.append(app)
        app.test_client_class = KeyedClient
        try:
            app.extensions["elicit.test_key"], _ = app.extensions["elicit"].keys.create("admin", "tests", rate_per_s=0)
        except StoreUnavailable:  # a test may build an app on an unreachable store
            pass
        return app

    yield build
    dropped = False
    for app in reversed(built):
        runtime = app.extensions["elicit"]
        if not dropped and not runtime.closed:
            try:
                runtime.store.drop_database()
                dropped = True
            except StoreUnavailable:  # a test may build an app on an unreachable store
                pass
        runtime.close()


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(mongo_uri: str, db_name: str) -> CliRunner:
    return CliRunner(env={"ELICIT_MONGO_URI": mongo_uri, "ELICIT_DB": db_name})


@pytest.fixture
def runtime(app: Flask) -> Any:
    return app.extensions["elicit"]
