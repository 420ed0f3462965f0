"""Observability: /metrics, JSON logs with event ids, gunicorn config."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.http.logs import JsonFormatter
from service.reports import build_report
from service.store import free_port
from tests.helpers import ROOT, slate_request


def scrape(client: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_cover_requests_decisions_spool_models_learner_and_reports(client: Any, runtime: Any, clock: Any) -> None:
    before = scrape(client)
    for i in range(3):
        assert client.post("/v1/slates", json=slate_request(event_id=f"m{i}")).status_code == 201
    assert client.post("/v1/prompts", json={"user_id": "u", "item_id": "f1"}).status_code == 201
    assert client.get("/v1/reports", headers={"Authorization": "Bearer nope"}).status_code == 401
    clock.advance(601)  # windows closed, nothing learned yet: the learner lags
    after = scrape(client)
    rule = {"endpoint": "/v1/slates", "method": "POST"}
    assert value(after, "elicit_requests_total", **rule, status="201") - value(before, "elicit_requests_total", **rule, status="201") == 3
    assert value(after, "elicit_requests_total", endpoint="/v1/reports", method="GET", status="401") >= 1
    assert value(after, "elicit_request_seconds_count", **rule) - value(before, "elicit_request_seconds_count", **rule) == 3
    assert value(after, "elicit_request_seconds_bucket", **rule, le="+Inf") >= 3
    assert value(after, "elicit_decisions_total", kind="slate", durable="store") - \
        value(before, "elicit_decisions_total", kind="slate", durable="store") == 3
    assert value(after, "elicit_decisions_total", kind="prompt", durable="store") >= 1
    assert value(after, "elicit_spool_depth") == 0 and value(after, "elicit_store_up") == 1
    assert value(after, "elicit_model_version", kind="slate") == 0
    assert value(after, "elicit_learner_lag_seconds", kind="slate") == pytest.approx(1.0)
    assert ("elicit_report_age_seconds", ()) not in after  # no report yet: absent, not zero

    runtime.learner.run_once()
    runtime.slate_models.refresh()
    start = clock.now_ms()
    clock.advance(60)
    assert runtime.store.insert_report(build_report(runtime.report_sources, start - 3_600_000, clock.now_ms(), report_id="r1"))
    clock.advance(3600)
    later = scrape(client)
    assert value(later, "elicit_model_version", kind="slate") == 1
    assert value(later, "elicit_learner_lag_seconds", kind="slate") == 0
    assert value(later, "elicit_report_age_seconds") == pytest.approx(3600, abs=1)


def test_access_lines_are_json_with_the_event_id_and_no_raw_path(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="elicit.access")
    body = client.post("/v1/slates", json=slate_request(user="someone-real")).get_json()
    client.post(f"/v1/slates/{body['event_id']}/outcomes", json={"outcomes": [{"item_id": body["slate"][0]["item_id"],
                                                                                "type": "click"}]})
    client.get("/v1/users/someone-real/public-feedback")
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "elicit.access"]
    decided, outcome, read = lines[-3:]
    assert decided["msg"] == "request" and decided["route"] == "/v1/slates" and decided["status"] == 201
    assert decided["event_id"] == body["event_id"] == outcome["event_id"] and decided["key_id"].startswith("k")
    assert outcome["route"] == "/v1/slates/<event_id>/outcomes" and decided["ms"] > 0
    assert read["route"] == "/v1/users/<user_id>/public-feedback" and "someone-real" not in json.dumps(lines)
    assert {"ts", "level", "logger"} <= set(decided)


def http(url: str, key: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def _parent(proc: Path) -> int:
    try:
        status = (proc / "status").read_text()
    except OSError:
        return -1
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


@pytest.mark.slow
def test_gunicorn_config_serves_with_workers_and_shared_metrics(make_app: Any, mongo_uri: str, db_name: str,
                                                                tmp_path: Path) -> None:
    key, _ = make_app().extensions["elicit"].keys.create("read", "prometheus", rate_per_s=0)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ELICIT_MONGO_URI": mongo_uri, "ELICIT_DB": db_name,
           "ELICIT_BACKGROUND_JOBS": "false", "ELICIT_SPOOL_DIR": str(tmp_path / "spool"), "ELICIT_WORKERS": "2",
           "ELICIT_BIND": f"127.0.0.1:{port}", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "service/cli/gunicorn_conf.py", "service.http.app:create_app()"],
                              cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while http(url + "/healthz")[0] != 200:
            assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "gunicorn.log").read_text()[-2000:]
            time.sleep(0.05)
        for _ in range(20):
            assert http(url + "/v1/reports", key)[0] == 200
        assert http(url + "/v1/reports")[0] == 401
        counts = set()
        for _ in range(6):  # whichever worker answers, it reports the whole server
            status, text = http(url + "/metrics", key)
            assert status == 200
            samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                       for family in text_string_to_metric_families(text) for s in family.samples}
            counts.add(value(samples, "elicit_requests_total", endpoint="/v1/reports", method="GET", status="200"))
        assert counts == {20.0}
        children = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == server.pid]
        assert len(children) == 2  # ELICIT_WORKERS=2
        assert list((tmp_path / "prom").glob("counter_*.db"))  # the counters are shared files
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
        logged = (tmp_path / "gunicorn.log").read_text()
        access = [json.loads(line) for line in logged.splitlines() if line.startswith("{") and '"elicit.access"' in line]
        assert access and all(line["route"] for line in access)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
