"""Azure Personalizer's own client libraries, unchanged, against a local elicit over HTTP.

Two clients from PyPI: ``azure-cognitiveservices-personalizer`` speaks the path-versioned
API (``/personalizer/v1.0/...``), ``azure-ai-personalizer`` the query-versioned one
(``?api-version=2022-09-01-preview``) and multi-slot. Both only need the endpoint changed.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from azure.ai.personalizer import PersonalizerClient
from azure.cognitiveservices.personalizer import PersonalizerClient as V1PersonalizerClient
from azure.cognitiveservices.personalizer.models import ErrorResponseException, RankableAction, RankRequest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from msrest.authentication import CognitiveServicesCredentials
from msrest.exceptions import HttpOperationError
from werkzeug.serving import make_server

CONTEXT = [{"user": {"profileType": "AnonymousUser", "latLong": "47.6,-122.1"}}, {"device": {"mobile": True}}]
ACTIONS = [
    {"id": "NewsArticle", "features": [{"type": "News"}]},
    {"id": "SportsArticle", "features": [{"type": "Sports"}]},
    {"id": "EntertainmentArticle", "features": [{"type": "Entertainment", "length": 0.4}]},
]


@pytest.fixture
def serve(make_app: Any) -> Iterator[Any]:
    """``serve(**config)`` → (base URL, app): the app on a loopback port, as the clients need."""
    servers: list[Any] = []

    def start(**config: Any) -> tuple[str, Any]:
        app = make_app(**config)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        url = f"http://127.0.0.1:{server.server_port}"
        KEYS[url], _ = app.extensions["elicit"].keys.create("decide", "azure-clients")  # the subscription key
        return url, app

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join()


#: base URL → the decide-scope elicit API key its app made; the clients send it as their subscription key
KEYS: dict[str, str] = {}


def client(url: str, key: str | None = None) -> PersonalizerClient:
    return PersonalizerClient(url, AzureKeyCredential(key or KEYS[url]), retry_total=0)  # no retries: errors are the point


def v1_client(url: str, key: str | None = None) -> V1PersonalizerClient:
    return V1PersonalizerClient(url, CognitiveServicesCredentials(key or KEYS[url]))


def test_rank_and_reward_with_the_v1_client(serve: Any, clock: Any) -> None:
    url, app = serve()
    runtime = app.extensions["elicit"]
    personalizer = v1_client(url)
    request = RankRequest(
        context_features=CONTEXT,
        actions=[RankableAction(id=a["id"], features=a["features"]) for a in ACTIONS],
        excluded_actions=["SportsArticle"],
        event_id="v1-event",
    )
    response = personalizer.rank(request)
    ranking = [(ranked.id, ranked.probability) for ranked in response.ranking]
    assert response.event_id == "v1-event"
    # Every action is ranked, the chosen one first, the excluded one last with probability 0.
    assert ranking[0][0] == response.reward_action_id != "SportsArticle"
    assert sorted(action for action, _ in ranking) == sorted(a["id"] for a in ACTIONS)
    assert ranking[-1] == ("SportsArticle", 0.0)
    assert sum(p for _, p in ranking) == pytest.approx(1.0)

    stored = runtime.store.get_decision("v1-event")
    assert stored["kind"] == "slate" and stored["activated"] is True
    assert [c["id"] for c in stored["candidates"]] == ["NewsArticle", "EntertainmentArticle"]
    assert stored["context"] == {"user": {"profileType": "AnonymousUser", "latLong": "47.6,-122.1"}, "device": {"mobile": True}}
    assert stored["chosen"][0]["probability"] == ranking[0][1]

    personalizer.events.reward("v1-event", 0.8)
    clock.advance(601)
    assert runtime.learner.run_once().learned == 1
    assert runtime.store.get_decision("v1-event")["reward"] == [pytest.approx(0.8)]


def test_rank_and_reward_with_the_query_versioned_client(serve: Any, clock: Any) -> None:
    url, app = serve()
    runtime = app.extensions["elicit"]
    personalizer = client(url)
    first = personalizer.rank({"contextFeatures": CONTEXT, "actions": ACTIONS})
    assert first["rewardActionId"] == first["ranking"][0]["id"]
    probabilities = [ranked["probability"] for ranked in first["ranking"]]
    assert probabilities[1:] == sorted(probabilities[1:], reverse=True) and sum(probabilities) == pytest.approx(1.0)
    # A client-supplied eventId, sent twice: the same decision, logged once.
    body = {"contextFeatures": CONTEXT, "actions": ACTIONS, "eventId": "mine-1"}
    assert personalizer.rank(body) == personalizer.rank(body)
    assert runtime.store.count_decisions() == 2

    personalizer.reward(first["eventId"], {"value": -0.5})
    personalizer.reward("mine-1", {"value": 1.0})
    personalizer.reward("mine-1", {"value": 0.2})  # Personalizer's default aggregation: the earliest counts
    clock.advance(601)
    assert runtime.learner.run_once().learned == 2
    assert runtime.store.get_decision(first["eventId"])["reward"] == [-0.5]
    assert runtime.store.get_decision("mine-1")["reward"] == [1.0]


def test_deferred_rank_counts_only_once_activated(serve: Any, clock: Any) -> None:
    url, app = serve()
    runtime = app.extensions["elicit"]
    personalizer = client(url)
    deferred = personalizer.rank({"actions": ACTIONS, "eventId": "later", "deferActivation": True})
    ignored = personalizer.rank({"actions": ACTIONS, "eventId": "never-shown", "deferActivation": True})
    assert runtime.store.get_decision("later")["activated"] is False
    personalizer.reward("never-shown", {"value": 1.0})  # accepted, but an inactive event learns nothing
    clock.advance(3600)
    assert runtime.learner.run_once().learned == 0

    personalizer.activate(deferred["eventId"])
    assert runtime.store.get_decision("later")["activated"]  # (nx-27017 reads a $set True back as 1)
    personalizer.reward("later", {"value": 0.7})
    v1_client(url).events.activate("later")  # activating twice is harmless, from either client
    clock.advance(601)
    assert runtime.learner.run_once().learned == 1
    assert runtime.store.get_decision("later")["reward"] == [0.7]
    assert runtime.store.get_decision(ignored["eventId"])["learned_at"] is None


def multislot_body(event_id: str | None = None, defer: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contextFeatures": CONTEXT,
        "actions": ACTIONS,
        "slots": [
            {"id": "Main Article", "features": [{"size": "Large", "position": "Top Middle"}],
             "excludedActions": ["SportsArticle"], "baselineAction": "EntertainmentArticle"},
            {"id": "Side Bar", "features": [{"size": "Small"}], "baselineAction": "NewsArticle"},
        ],
        "deferActivation": defer,
    }
    if event_id is not None:
        body["eventId"] = event_id
    return body


def test_multislot_rank_respects_slot_exclusions_and_takes_per_slot_rewards(serve: Any, clock: Any) -> None:
    url, app = serve()
    runtime = app.extensions["elicit"]
    personalizer = client(url)
    main = Counter()
    for _ in range(60):
        response = personalizer.rank_multi_slot(multislot_body())
        slots = {slot["id"]: slot["rewardActionId"] for slot in response["slots"]}
        assert list(slots) == ["Main Article", "Side Bar"] and slots["Main Article"] != slots["Side Bar"]
        main[slots["Main Article"]] += 1
    assert "SportsArticle" not in main and set(main) == {"NewsArticle", "EntertainmentArticle"}

    response = personalizer.rank_multi_slot(multislot_body("ms-1", defer=True))
    personalizer.activate_multi_slot("ms-1")
    personalizer.reward_multi_slot("ms-1", {"reward": [{"slotId": "Side Bar", "value": 0.25},
                                                       {"slotId": "Main Article", "value": 1.0}]})
    stored = runtime.store.get_decision("ms-1")
    assert [slot["excluded"] for slot in stored["slots"]] == [["SportsArticle"], []]
    assert "SportsArticle" not in stored["chosen"][0]["allowed"] and len(stored["chosen"][1]["allowed"]) == 2
    assert stored["origin"]["baseline"] == ["EntertainmentArticle", "NewsArticle"]
    assert [c["item_id"] for c in stored["chosen"]] == [s["rewardActionId"] for s in response["slots"]]
    clock.advance(601)
    runtime.learner.run_once()
    assert runtime.store.get_decision("ms-1")["reward"] == [1.0, 0.25]


def test_errors_reach_the_clients_as_personalizer_errors(serve: Any) -> None:
    url, app = serve()
    with pytest.raises(ClientAuthenticationError) as denied:
        client(url, key="wrong").rank({"actions": ACTIONS})
    assert denied.value.status_code == 401
    with pytest.raises(HttpResponseError) as bad_reward:
        client(url).reward("no-such-event", {"value": 2.0})
    assert bad_reward.value.status_code == 400 and bad_reward.value.error.code == "InvalidRewardRequest"
    assert bad_reward.value.error.target == "value"
    with pytest.raises(HttpOperationError) as unknown:  # v1.0's Reward declares no error body; the body is there
        v1_client(url).events.reward("no-such-event", 0.5)
    assert unknown.value.response.status_code == 404
    assert unknown.value.response.json()["error"]["code"] == "ResourceNotFound"
    with pytest.raises(ErrorResponseException) as excluded_all:
        v1_client(url).rank(RankRequest(actions=[RankableAction(id="a", features=[])], excluded_actions=["a"]))
    assert excluded_all.value.response.status_code == 400
    assert excluded_all.value.error.error.code == "InvalidRankRequest" and excluded_all.value.error.error.target == "excludedActions"
    with pytest.raises(HttpResponseError) as bad_slot:
        body = multislot_body()
        body["slots"][1]["baselineAction"] = "EntertainmentArticle"  # two slots, one baseline
        client(url).rank_multi_slot(body)
    assert bad_slot.value.error.code == "InvalidRankRequest" and bad_slot.value.error.target == "slots[1].baselineAction"
    assert app.extensions["elicit"].store.count_decisions() == 0  # nothing refused was written


POOR = "--ccb_explore_adf --quiet"
GENRE_ACTIONS = [{"id": f"{genre}{i}", "features": [{"genre": genre}]} for genre in "ab" for i in range(3)]


@pytest.mark.slow
def test_administration_client_policy_model_and_evaluations(serve: Any, clock: Any) -> None:
    """The official administration client: learning settings, model export/import/reset,
    an offline evaluation found better than poor settings and applied from it, then deleted."""
    import io

    import numpy as np
    from azure.ai.personalizer import PersonalizerAdministrationClient

    from service.evaluate.search import Stage

    url, app = serve(SLATE_VW_ARGS=POOR, EVALUATION_MIN_DECISIONS=500, APPLY_RETRAIN_DAYS=30)
    runtime = app.extensions["elicit"]
    admin_key, _ = runtime.keys.create("admin", "azure-admin")
    admin = PersonalizerAdministrationClient(url, AzureKeyCredential(admin_key), retry_total=0)
    with pytest.raises(HttpResponseError) as refused:  # a decide key may rank, not administer
        PersonalizerAdministrationClient(url, AzureKeyCredential(KEYS[url]), retry_total=0).get_policy()
    assert refused.value.status_code == 403

    assert admin.get_policy()["arguments"] == POOR
    assert admin.get_service_configuration()["rewardWaitTime"] == "PT10M"

    personalizer, rng = client(url), np.random.default_rng(5)
    start = clock.now_ms()
    for _ in range(700):  # the group × genre log of tests/service/evaluate/test_evaluations.py
        group = "g0" if rng.random() < 0.7 else "g1"
        ranked = personalizer.rank({"contextFeatures": [{"group": group}], "actions": GENRE_ACTIONS})
        liked = (ranked["rewardActionId"][0] == "a") == (group == "g0")
        personalizer.reward(ranked["eventId"], {"value": float(rng.random() < (0.9 if liked else 0.1))})
    clock.advance(601)
    assert runtime.learner.run_once().learned == 700

    exported = b"".join(admin.export_model())
    assert exported == runtime.slate_models.current()[0].to_bytes()
    admin.import_model(io.BytesIO(exported))
    assert runtime.slate_models.version_id == "slate-v2"
    with pytest.raises(HttpResponseError) as bad_model:
        admin.import_model(io.BytesIO(b"not a model"))
    assert bad_model.value.status_code == 400 and bad_model.value.error.code == "InvalidModelImportFormat"
    assert admin.get_model_properties()["lastModifiedTime"] is not None

    runtime.evaluations.stages = (Stage("interactions", ((), ("UA",)), "interactions"),)
    window = {"startTime": dt_iso(start), "endTime": dt_iso(clock.now_ms())}
    admin.create_evaluation("offline-1", {"name": "first", **window,
                                          "policies": [{"name": "worse", "arguments": f"{POOR} --ignore A --ignore I"}]})
    runtime.evaluations.threads["offline-1"].join(timeout=120)
    times = {"start_time": to_datetime(start), "end_time": to_datetime(clock.now_ms())}
    evaluation = admin.get_evaluation("offline-1", **times)
    assert evaluation["status"] == "Succeeded" and evaluation["name"] == "first"
    sources = {row["name"]: row["policySource"] for row in evaluation["content"]["value"]}
    assert sources == {"live": "Online", "uniform": "Random", "baseline": "Baseline", "worse": "Custom",
                       "optimized": "OfflineExperimentation"}
    assert [e["id"] for e in admin.list_evaluations()] == ["offline-1"]

    with pytest.raises(HttpResponseError) as worse:
        admin.apply_from_evaluation({"evaluationId": "offline-1", "policyName": "worse"})
    assert worse.value.status_code == 409
    admin.apply_from_evaluation({"evaluationId": "offline-1", "policyName": "optimized"})
    assert "-q UA" in admin.get_policy()["arguments"]
    assert admin.get_evaluation("offline-1", **times)["status"] == "OptimalPolicyApplied"

    assert admin.reset_policy()["arguments"] == POOR
    admin.reset_model()
    admin.delete_evaluation("offline-1")
    with pytest.raises(HttpResponseError) as gone:
        admin.get_evaluation("offline-1", **times)
    assert gone.value.status_code == 404 and gone.value.error.code == "ResourceNotFound"


def dt_iso(ms_value: int) -> str:
    return to_datetime(ms_value).isoformat()


def to_datetime(ms_value: int) -> Any:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms_value / 1000, dt.UTC)
