"""The report page in a real headless browser (Debian's chromium), served over HTTP.

The session fixture installs chromium with apt-get when it is missing and the test runs
as root; only where that is impossible does the test skip, saying why. The screenshot is
kept as a test artifact: artifacts/report-page.png.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib import image as mpimg
from werkzeug.serving import make_server

from service.reports import build_report
from tests.helpers import ROOT
from tests.service.reports.prompt_logs import DAY_MS, START_MS, prompt_log
from tests.service.reports.test_content import make_log

ARTIFACTS = ROOT / "artifacts"
NAMES = ("chromium", "chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _find() -> str | None:
    return next((path for path in map(shutil.which, NAMES) if path), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    found = _find()
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("chromium is not installed and cannot be: no apt-get, or not root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
                             capture_output=True, text=True, env=env, timeout=900)
    if install.returncode != 0:  # stale package lists: refresh once and retry
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=600)
        install = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
                                 capture_output=True, text=True, env=env, timeout=900)
    found = _find()
    if not found:
        pytest.skip(f"chromium could not be installed with apt-get: {install.stderr.strip()[-300:]}")
    return found


@pytest.fixture
def served(app: Any) -> Iterator[str]:
    # A browser sends no Bearer header: the page is read in the documented development
    # mode, which opens endpoints to loopback clients only (tests/service/http/test_auth.py checks that).
    app.config["AUTH"] = "off"
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def run_chromium(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180)


def test_report_page_renders_in_headless_chromium_with_every_figure(
    chromium: str, served: str, client: Any, runtime: Any, clock: Any, tmp_path: Path
) -> None:
    make_log(client, runtime, clock, 60)  # slates of the first day
    rng = np.random.default_rng(5)
    for day in range(2):  # two nights of prompts, where public prompts are answered less
        prompt_log(runtime.store, START_MS + day * DAY_MS, 600, rng,
                   lambda fmt, visibility: 0.2 if visibility == "public" else 0.45, prefix=f"p{day}-")
        report = build_report(runtime.report_sources, START_MS + day * DAY_MS, START_MS + (day + 1) * DAY_MS,
                              kind="nightly", report_id=f"nightly-2026-01-0{day + 2}")
        assert runtime.store.insert_report(report)
    url = f"{served}/reports/nightly-2026-01-03"

    dom = run_chromium(chromium, tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # The page starts with the Answers: the headline, one sentence per question, before any section.
    assert dom.stdout.index('id="answers"') < dom.stdout.index('id="verdicts"') < dom.stdout.index('id="figures"')
    answers = re.findall(r'<li class="answer"><span class="level level-(\w+)">', dom.stdout)
    assert answers and answers[0] == "finding" and "Public prompts are answered" in dom.stdout
    figures = re.findall(r'<img class="report-figure" alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', dom.stdout)
    assert [alt.split(" (")[0] for alt, _ in figures] == [
        "The main questions night by night: each night, and everything since the start",
        "Slate policies: estimates with intervals",
        "Answer rate by visibility and format, by day",
        "Berserk index by day",
    ]
    assert all(len(data) > 2000 for _, data in figures)  # real PNGs, not empty sources
    assert "(no data yet)" not in figures[0][0]  # the nights in sequence are drawn: two nights pooled
    assert "(no data yet)" in figures[1][0]  # the second night has no slates
    assert "Not enough data to tell" in dom.stdout
    assert "<script" not in dom.stdout  # readable without JavaScript

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-page.png"
    shot.unlink(missing_ok=True)
    taken = run_chromium(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", url)
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    pixels = mpimg.imread(shot)
    assert pixels.shape[:2] == (2000, 1200)
    assert pixels[..., :3].std() > 0.05  # a page with content, not a blank canvas
