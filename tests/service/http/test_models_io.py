"""Model export and import, learning settings export, import and restore (issue 22)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bandit.actions import ActionModel
from bandit.slates import SlateModel, slot_text
from tests.helpers import candidates

ITEMS = candidates(12)
OCTETS = {"Content-Type": "application/octet-stream"}


def _learn_some(client: Any, runtime: Any, clock: Any, n: int = 200) -> None:
    """``n`` slates whose first family of items is consumed, learned once."""
    rng = np.random.default_rng(3)
    for i in range(n):
        pool = [ITEMS[j] for j in rng.permutation(len(ITEMS))]
        body = client.post("/v1/slates", json={"user_id": f"u{i % 20}", "context": {"segment": f"s{i % 3}"},
                                               "candidates": pool, "slots": 2}).get_json()
        outcomes = [{"item_id": s["item_id"], "type": "consume" if int(s["item_id"][1:]) % 3 == 0 else "skip"}
                    for s in body["slate"]]
        client.post(f"/v1/slates/{body['event_id']}/outcomes", json={"outcomes": outcomes})
    clock.advance(601)
    assert runtime.learner.run_once().by_kind["slate"].learned == n


def _probe_pmfs(model: SlateModel, n: int) -> list[list[float]]:
    """The model's slot distribution on ``n`` random contexts and candidate subsets."""
    rng = np.random.default_rng(11)
    texts = [f"|I id=f{i} category=cat{i % 4}" for i in range(12)]
    out = []
    for _ in range(n):
        keep = sorted(rng.choice(12, size=int(rng.integers(2, 12)), replace=False))
        pmf = model.slot_pmf(f"|U segment=s{int(rng.integers(0, 5))}", [texts[k] for k in keep],
                             slot_text({}, int(rng.integers(0, 3))))
        out.append(pmf.tolist())
    return out


def test_export_then_import_serves_identical_predictions(client: Any, runtime: Any, clock: Any) -> None:
    _learn_some(client, runtime, clock)
    trained, version = runtime.slate_models.current()
    assert version == "slate-v1"
    exported = client.get("/v1/models/slate-v1/file")
    assert exported.status_code == 200 and exported.mimetype == "application/octet-stream"
    uploaded = client.put("/v1/models?kind=slate", data=exported.data, headers=OCTETS)
    assert uploaded.status_code == 201, uploaded.get_json()
    assert uploaded.get_json()["_id"] == "slate-v2" and uploaded.get_json()["source"] == "import"
    assert uploaded.get_json()["sha256"] == exported.headers["X-Model-Sha256"]
    imported, serving = runtime.slate_models.current()
    assert serving == "slate-v2" and imported is not trained
    before, after = _probe_pmfs(trained, 1000), _probe_pmfs(imported, 1000)
    assert before == after  # bit for bit, on 1,000 examples
    # It learned something, so identical predictions are not two untrained models agreeing.
    assert before != _probe_pmfs(SlateModel.new(), 1000)


def test_the_learner_continues_from_an_imported_model(client: Any, runtime: Any, clock: Any) -> None:
    _learn_some(client, runtime, clock, n=50)
    data = client.get("/v1/models/slate-v1/file").data
    assert client.put("/v1/models?kind=slate", data=data, headers=OCTETS).status_code == 201
    _learn_some(client, runtime, clock, n=50)
    assert runtime.slate_models.version_id == "slate-v3"
    assert runtime.store.latest_model_meta("slate")["decisions"] == 50


def test_an_upload_that_is_not_a_model_of_its_kind_is_refused_with_the_reason(client: Any, runtime: Any) -> None:
    garbage = client.put("/v1/models?kind=slate", data=b"not a model", headers=OCTETS)
    assert garbage.status_code == 422 and garbage.get_json()["field"] == "body"
    assert "does not load" in garbage.get_json()["message"]
    prompt_model = ActionModel.new().to_bytes()
    wrong_kind = client.put("/v1/models?kind=slate", data=prompt_model, headers=OCTETS)
    assert wrong_kind.status_code == 422
    assert "DECISION_SCORES" in wrong_kind.get_json()["message"] and "ACTION_PROBS" in wrong_kind.get_json()["message"]
    assert client.put("/v1/models?kind=slate", data=b"", headers=OCTETS).status_code == 422
    assert client.put("/v1/models?kind=other", data=prompt_model, headers=OCTETS).get_json()["field"] == "kind"
    assert runtime.store.latest_model_meta("slate") is None  # nothing was published
    assert client.put("/v1/models?kind=prompt", data=prompt_model, headers=OCTETS).status_code == 201


def test_an_unknown_model_version_is_404(client: Any) -> None:
    answer = client.get("/v1/models/slate-v9/file")
    assert answer.status_code == 404 and answer.get_json()["field"] == "model_id"


def test_settings_export_import_and_restore(client: Any, runtime: Any, clock: Any, tmp_path: Any) -> None:
    configured = runtime.config["SLATE_VW_ARGS"]
    exported = client.get("/v1/settings").get_json()
    assert exported["slate"]["vw_args"] == configured and exported["slate"]["source"] == "configuration"
    _learn_some(client, runtime, clock, n=60)

    bad = client.put("/v1/settings", json={"slate": {"vw_args": "--ccb_explore_adf --no_such_option"}})
    assert bad.status_code == 422 and bad.get_json()["field"] == "slate.vw_args"
    target = tmp_path / "written.vw"
    writes = client.put("/v1/settings", json={"slate": {"vw_args": f"--ccb_explore_adf --quiet -f {target}"}})
    assert writes.status_code == 422 and not target.exists()  # settings never name files for VW
    wrong_kind = client.put("/v1/settings", json={"prompt": {"vw_args": "--ccb_explore_adf --quiet"}})
    assert wrong_kind.status_code == 422 and wrong_kind.get_json()["field"] == "prompt.vw_args"
    assert runtime.slate_models.version_id == "slate-v1"  # refused: nothing applied

    plain = "--ccb_explore_adf --quiet"
    applied = client.put("/v1/settings", json={"slate": {"vw_args": plain}})
    assert applied.status_code == 200, applied.get_json()
    (row,) = applied.get_json()["applied"]
    assert row["model_version"] == "slate-v2" and row["decisions"] == 60 and row["vw_args"] == plain
    assert runtime.slate_models.version_id == "slate-v2"
    assert runtime.store.model_meta("slate-v2")["vw_args"] == plain
    now = client.get("/v1/settings").get_json()["slate"]
    assert now["vw_args"] == plain and now["source"] == "import" and now["previous"] == 1

    restored = client.post("/v1/settings/slate/restore").get_json()["applied"][0]
    assert restored["vw_args"] == configured and restored["model_version"] == "slate-v3"
    assert client.get("/v1/settings").get_json()["slate"]["vw_args"] == configured
    assert client.post("/v1/settings/prompt/restore").status_code == 404
