"""``elicit doctor``: what is wrong with this deployment, and how to fix it.

Checks, in order: the configuration a production deployment must set; the store
(reachable, MongoDB 6+, a replica set, the configured write concern acknowledged, every
index elicit creates present, its clock against this host's); the spool's disk; and the
newest published model snapshot of each kind (readable and loadable). Each finding is
``ok``, ``warning`` (worth knowing, not wrong) or ``problem`` (with how to fix it); the
exit status is 1 when there is a problem. Nothing is changed unless ``--create-indexes``.

The store is reached without a runtime: a runtime creates the indexes at start-up, which
would hide a missing one.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from service.core.config import DEVELOPMENT_SECRET, check_mode, load_config

#: More than this between the store's clock and this host's is a problem: reward windows,
#: leases and the nightly schedule are event times written by several hosts.
MAX_SKEW_MS = 2000
MIN_VERSION = 6


@dataclass(frozen=True)
class Finding:
    check: str
    level: str  # ok | warning | problem
    text: str
    fix: str | None = None


def _ok(check: str, text: str) -> Finding:
    return Finding(check, "ok", text)


def config_findings(config: Mapping[str, Any]) -> list[Finding]:
    production = str(config.get("MODE")).lower() == "production"
    try:
        check_mode(config)
    except RuntimeError as exc:
        return [Finding("config", "problem", str(exc), "set ELICIT_SECRET (e.g. `openssl rand -hex 32`) and ELICIT_AUTH=on")]
    if production and not config.get("MONGO_URI"):
        return [Finding("config", "problem", "production mode with no ELICIT_MONGO_URI: the embedded store is for development",
                        "point ELICIT_MONGO_URI at a MongoDB 6+ replica set")]
    if not production:
        secret = "the development SECRET" if config.get("SECRET") == DEVELOPMENT_SECRET else "a SECRET"
        return [Finding("config", "warning", f"development mode ({secret}); fine for a trial, not for production",
                        "set ELICIT_MODE=production with ELICIT_SECRET and ELICIT_MONGO_URI (docs/deploy.md)")]
    return [_ok("config", "production mode with a secret, auth on and a MongoDB URI")]


def store_findings(health: Any, config: Mapping[str, Any]) -> list[Finding]:
    """``health``: a :class:`service.store.health.StoreHealth`."""
    production = str(config.get("MODE")).lower() == "production"
    found: list[Finding] = []
    before = time.time() * 1000
    topology = health.topology()
    local_ms = (before + time.time() * 1000) / 2  # the midpoint of the round trip
    major = int(str(topology.version or "0").split(".")[0] or 0)
    if major < MIN_VERSION:
        found.append(Finding("store", "problem", f"server version {topology.version}: elicit needs MongoDB {MIN_VERSION}+",
                             "upgrade the server (docs/deploy.md, Upgrades)"))
    else:
        found.append(_ok("store", f"reachable, version {topology.version}"))
    if topology.replica_set:
        found.append(_ok("replica set", f"member of replica set {topology.replica_set!r}"))
    else:
        found.append(Finding("replica set", "problem" if production else "warning",
                             "a standalone server: no failover, and write concern majority is only this server",
                             "run a replica set of three members (`rs.initiate()`; docs/deploy.md, Topology)"))
    w = config["WRITE_CONCERN"]
    w = int(w) if str(w).isdigit() else str(w)
    refused = health.probe_write(w, bool(config["WRITE_JOURNAL"]), int(config["STORE_TIMEOUT_MS"]))
    if refused is None:
        found.append(_ok("write concern", f"a write with w={w}, j={bool(config['WRITE_JOURNAL'])} was acknowledged"))
    else:
        found.append(Finding("write concern", "problem", f"a write with w={w} was not acknowledged: {refused}",
                             "bring a majority of the replica set's data-bearing members up (`rs.status()`), "
                             "or set ELICIT_WRITE_CONCERN to what the deployment can acknowledge"))
    missing = health.missing_indexes()
    if missing:
        names = ", ".join(f"{collection}({', '.join(f'{k} {v}' for k, v in key)})" for collection, key in missing)
        found.append(Finding("indexes", "problem", f"{len(missing)} missing: {names}",
                             "`elicit doctor --create-indexes` creates them (as every elicit process does at start-up); "
                             "on a large collection build them in a quiet hour"))
    else:
        found.append(_ok("indexes", "every index elicit creates is present"))
    if topology.server_time_ms is None:
        found.append(Finding("clock", "warning", "the server did not say its time; skew not measured", None))
    else:
        skew = topology.server_time_ms - local_ms
        if abs(skew) > MAX_SKEW_MS:
            found.append(Finding("clock", "problem", f"this host's clock is {-skew / 1000:+.1f} s off the store's",
                                 "run NTP (chrony or systemd-timesyncd) on every elicit host and database host"))
        else:
            found.append(_ok("clock", f"within {abs(skew) / 1000:.2f} s of the store's"))
    return found


def spool_findings(spool_dir: Path, config: Mapping[str, Any]) -> list[Finding]:
    existing = spool_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    floor = int(config["DOCTOR_MIN_SPOOL_FREE_BYTES"])
    bound = int(config["SPOOL_MAX_BYTES"])
    found: list[Finding] = []
    if free < max(floor, bound):
        found.append(Finding("spool", "problem", f"{free / 2**20:.0f} MiB free at {spool_dir}, under the "
                             f"{max(floor, bound) / 2**20:.0f} MiB needed (DOCTOR_MIN_SPOOL_FREE_BYTES, SPOOL_MAX_BYTES): "
                             "an outage of the store would fill the disk before the spool's bound",
                             "free disk there, or point ELICIT_SPOOL_DIR at a local volume with room"))
    else:
        found.append(_ok("spool", f"{free / 2**20:.0f} MiB free at {spool_dir}"))
    waiting = sum(p.stat().st_size for p in spool_dir.glob("*")) if spool_dir.is_dir() else 0
    if waiting:
        found.append(Finding("spool", "warning", f"{waiting} bytes wait in the spool to be shipped",
                             "start the service on this host: its shipper sends them once the store is reachable"))
    return found


def model_findings(store: Any, loaders: Mapping[str, Callable[[bytes], Any]]) -> list[Finding]:
    found = []
    for kind, load in loaders.items():
        meta = store.latest_model_meta(kind)
        if meta is None:
            found.append(_ok(f"{kind} model", "none published yet (the learner publishes the first)"))
            continue
        name = f"{kind}-v{meta['version']}"
        try:
            load(store.load_model(meta["file_id"]))
        except Exception as exc:  # noqa: BLE001 — any failure to read or load is the finding
            found.append(Finding(f"{kind} model", "problem", f"snapshot {name} cannot be loaded: {exc}",
                                 "restore the models collection and its GridFS files from backup (docs/deploy.md), "
                                 "or let the learner publish a new version"))
            continue
        found.append(_ok(f"{kind} model", f"snapshot {name} loads"))
    return found


def diagnose(config: Mapping[str, Any], create_indexes: bool = False) -> list[Finding]:
    from bandit.actions import ActionModel
    from bandit.slates import SlateModel
    from service.core.errors import StoreUnavailable
    from service.store import EmbeddedMongo, Store
    from service.store.health import StoreHealth, ensure_all

    found = config_findings(config)
    embedded = None
    uri = config.get("MONGO_URI")
    if not uri:
        embedded = EmbeddedMongo(Path(str(config["DATA_DIR"]))).start()
        uri = embedded.uri
    store = Store(str(uri), str(config["DB"]), timeout_ms=int(config["STORE_TIMEOUT_MS"]))
    try:
        if create_indexes:
            ensure_all(store)
        found += store_findings(StoreHealth(store), config)
        found += model_findings(store, {"slate": SlateModel.from_bytes, "prompt": ActionModel.from_bytes})
    except StoreUnavailable as exc:
        found.append(Finding("store", "problem", f"unreachable at {uri}: {exc}",
                             "check ELICIT_MONGO_URI, the network, and that the servers run"))
    finally:
        store.close()
        if embedded is not None:
            embedded.stop()
    spool_dir = config.get("SPOOL_DIR") or Path(str(config["DATA_DIR"])) / "spool" / str(config["DB"])
    return found + spool_findings(Path(spool_dir), config)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--create-indexes", is_flag=True, help="Create the missing indexes first (what start-up does).")
def doctor(as_json: bool, create_indexes: bool) -> None:
    """Check this deployment: config, store, indexes, clock, spool disk, model snapshots.
    Exit status 1 when anything is a problem."""
    findings = diagnose(load_config({"BACKGROUND_JOBS": False}), create_indexes)
    problems = [f for f in findings if f.level == "problem"]
    if as_json:
        click.echo(json.dumps([asdict(f) for f in findings], indent=2))
    else:
        for f in findings:
            click.echo(f"[{f.level.upper() if f.level == 'problem' else f.level}] {f.check}: {f.text}")
            if f.fix and f.level != "ok":
                click.echo(f"    fix: {f.fix}")
        click.echo(f"{len(problems)} problem(s)" if problems else "no problems")
    if problems:
        raise SystemExit(1)
