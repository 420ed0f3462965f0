"""API keys and scopes and rate limits: every endpoint, every scope."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from service.cli.main import main
from service.core.config import check_mode, load_config
from service.http.contract import spec_of

#: The scope table of the README, written out by hand: the declarations next to the views must
#: say the same (decide: slates, prompts, outcomes, responses, feedback; read: reports and
#: public feedback, experiments; admin: models, keys, catalogue writes, user deletion, experiment changes).
EXPECTED = {
    ("POST", "/v1/slates"): "decide",
    ("POST", "/v1/slates/<event_id>/outcomes"): "decide",
    ("POST", "/v1/events/<event_id>/activate"): "decide",
    ("POST", "/v1/prompts"): "decide",
    ("POST", "/v1/prompts/<event_id>/response"): "decide",
    ("POST", "/v1/feedback"): "decide",
    ("GET", "/v1/users/<user_id>/public-feedback"): "read",
    ("GET", "/v1/reports"): "read",
    ("GET", "/v1/reports/latest"): "read",
    ("GET", "/v1/reports/<report_id>"): "read",
    ("GET", "/reports/latest"): "read",
    ("GET", "/reports/<report_id>"): "read",
    ("GET", "/v1/items/<item_id>"): "read",
    ("PUT", "/v1/items"): "admin",
    ("GET", "/v1/models"): "admin",
    ("GET", "/v1/keys"): "admin",
    ("POST", "/v1/keys"): "admin",
    ("DELETE", "/v1/keys/<key_id>"): "admin",
    ("DELETE", "/v1/users/<user_id>"): "admin",
    ("PUT", "/v1/experiments/<name>"): "admin",
    ("POST", "/v1/experiments/<name>/start"): "admin",
    ("POST", "/v1/experiments/<name>/stop"): "admin",
    ("GET", "/v1/experiments"): "read",
    ("GET", "/v1/experiments/<name>"): "read",
    ("GET", "/metrics"): "read",
    ("GET", "/openapi.json"): "any",
    # issue 22: model files, learning settings, offline evaluations (admin)
    ("GET", "/v1/models/<model_id>/file"): "admin",
    ("PUT", "/v1/models"): "admin",
    ("GET", "/v1/settings"): "admin",
    ("PUT", "/v1/settings"): "admin",
    ("POST", "/v1/settings/<kind>/restore"): "admin",
    ("POST", "/v1/evaluations"): "admin",
    ("GET", "/v1/evaluations"): "admin",
    ("GET", "/v1/evaluations/<evaluation_id>"): "admin",
    ("GET", "/evaluations/<evaluation_id>"): "admin",
    ("POST", "/v1/evaluations/<evaluation_id>/apply"): "admin",
}
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz")}


def routes(app: Any) -> list[tuple[str, str, str]]:
    """(method, rule, required scope) of every route the app serves."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        spec = spec_of(app.view_functions[rule.endpoint])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, spec.scope if spec else "admin"))
    return found


def concrete(rule: str) -> str:
    # The catch-all: a path Personalizer has and elicit does not (configurations/service is served).
    path = rule.replace("<version>", "v1.0").replace("<path:rest>", "logs/properties")
    path = re.sub(r"<[^>]+>", "x1", path)
    return path + ("?api-version=2022-09-01-preview" if path.startswith("/personalizer/") and "/v1." not in path else "")


def call(client: Any, method: str, path: str, key: str | None, personalizer_header: bool = False) -> Any:
    client.api_key = None
    headers = {}
    if key is not None:
        headers = {"Ocp-Apim-Subscription-Key": key} if personalizer_header else {"Authorization": f"Bearer {key}"}
    return client.open(path, method=method, json={}, headers=headers)


def test_every_route_declares_the_scope_the_issue_gives_it(app: Any) -> None:
    declared = {(m, r): s for m, r, s in routes(app) if not r.startswith("/personalizer")}
    assert {k for k, s in declared.items() if s == "public"} == PUBLIC
    assert {k: s for k, s in declared.items() if s != "public"} == EXPECTED
    personalizer = {(m, r): s for m, r, s in routes(app) if r.startswith("/personalizer")}
    admin = {r for (m, r), s in personalizer.items() if s == "admin"}
    # Personalizer's administration operations (issue 22) need an admin key; the rest decide.
    assert admin == {"/personalizer/configurations/policy", "/personalizer/configurations/service",
                     "/personalizer/configurations/applyFromEvaluation", "/personalizer/evaluations",
                     "/personalizer/evaluations/<evaluation_id>", "/personalizer/model", "/personalizer/model/properties"}
    assert {s for (m, r), s in personalizer.items() if r not in admin} == {"decide"}


def test_every_endpoint_needs_a_valid_key_of_its_scope(app: Any, client: Any) -> None:
    runtime = app.extensions["elicit"]
    keys = {scope: runtime.keys.create(scope, f"t-{scope}", rate_per_s=0)[0] for scope in ("decide", "read", "admin")}
    revoked, doc = runtime.keys.create("admin", "gone")
    runtime.keys.revoke(doc["_id"])
    checked = 0
    for method, rule, needed in routes(app):
        path = concrete(rule)
        pz = rule.startswith("/personalizer")
        if needed == "public":
            assert call(client, method, path, None).status_code == 200, path
            continue
        for key in (None, "ek_not-a-key", revoked, "x" * 5000):
            response = call(client, method, path, key, pz)
            assert response.status_code == 401, (method, path, key)
            body = response.get_json()
            assert body["error"]["code"] == "401" if pz else body["error"] == "unauthorized"
            if not pz:
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
        for scope, key in keys.items():
            response = call(client, method, path, key, pz)
            allowed = needed in ("any", scope) or scope == "admin"
            if allowed:
                assert response.status_code not in (401, 403), (method, path, scope, response.get_json())
            else:
                assert response.status_code == 403, (method, path, scope)
                assert (response.get_json()["error"]["code"] == "403") if pz else response.get_json()["error"] == "forbidden"
            checked += 1
    assert checked >= 3 * (len(EXPECTED) + 10)


def test_unknown_paths_need_a_key_too(client: Any) -> None:
    assert call(client, "GET", "/v1/nothing-here", None).status_code == 401
    client.api_key = client.application.extensions["elicit.test_key"]
    assert client.get("/v1/nothing-here").status_code == 404


def test_keys_are_stored_hashed_and_the_cli_prints_the_key_once_on_the_last_line(
    runner: Any, make_app: Any
) -> None:
    app = make_app(AUTH_CACHE_S=0)  # revocation by another process is seen at once
    runtime, client = app.extensions["elicit"], app.test_client()
    result = runner.invoke(main, ["keys", "create", "--scope", "decide", "--name", "shop-frontend"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    key = lines[-1]
    assert re.fullmatch(r"ek_[A-Za-z0-9_-]{43}", key) and key not in "\n".join(lines[:-1])
    stored = list(runtime.store.db["api_keys"].find({"name": "shop-frontend"}))
    assert len(stored) == 1 and stored[0]["sha256"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in repr(stored)

    listed = runner.invoke(main, ["keys", "list"])
    assert stored[0]["_id"] in listed.output and "shop-frontend" in listed.output and key not in listed.output
    client.api_key = key
    assert client.post("/v1/feedback", json={"user_id": "u", "item_id": "i", "value": "up", "visibility": "private"}).status_code == 201
    assert client.get("/v1/reports").status_code == 403

    assert runner.invoke(main, ["keys", "revoke", stored[0]["_id"]]).exit_code == 0
    assert "revoked" in runner.invoke(main, ["keys", "list"]).output
    assert client.get("/v1/users/u/public-feedback").status_code == 401
    again = runner.invoke(main, ["keys", "revoke", stored[0]["_id"]])
    assert again.exit_code != 0 and "no active key" in again.output


def test_keys_over_http_admin_only(client: Any) -> None:
    created = client.post("/v1/keys", json={"scope": "read", "name": "dash"})
    assert created.status_code == 201
    body = created.get_json()
    assert body["key"].startswith("ek_") and body["scope"] == "read"
    listed = client.get("/v1/keys").get_json()["keys"]
    assert body["id"] in {k["id"] for k in listed} and body["key"] not in str(listed)
    reader = body["key"]
    assert client.get("/v1/reports", headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    assert client.post("/v1/keys", json={"scope": "admin"}, headers={"Authorization": f"Bearer {reader}"}).status_code == 403
    assert client.delete(f"/v1/keys/{body['id']}").get_json() == {"id": body["id"], "revoked": True}
    assert client.get("/v1/reports", headers={"Authorization": f"Bearer {reader}"}).status_code == 401
    assert client.delete(f"/v1/keys/{body['id']}").status_code == 404
    assert client.post("/v1/keys", json={"scope": "root"}).status_code == 422


def test_development_mode_opens_loopback_only(make_app: Any) -> None:
    app = make_app(AUTH="off")
    client = app.test_client()
    client.api_key = None
    assert client.get("/v1/reports").status_code == 200
    assert client.post("/personalizer/v1.0/rank", json={"actions": [{"id": "a"}]}).status_code == 201
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/v1/reports", environ_base=remote).status_code == 401
    assert client.post("/personalizer/v1.0/rank", json={"actions": [{"id": "a"}]}, environ_base=remote).status_code == 401
    assert make_app().test_client().get("/v1/reports", headers={"Authorization": ""}).status_code == 401  # default: on


def test_production_mode_refuses_to_start_without_a_secret_or_with_auth_off() -> None:
    base = load_config({"MODE": "production"}, environ={})
    with pytest.raises(RuntimeError, match="ELICIT_SECRET"):
        check_mode(base)
    with pytest.raises(RuntimeError, match="ELICIT_SECRET"):
        check_mode({**base, "SECRET": "short"})
    strong = {**base, "SECRET": "s" * 40}
    check_mode(strong)
    with pytest.raises(RuntimeError, match="AUTH=on"):
        check_mode({**strong, "AUTH": "off"})
    check_mode({**base, "MODE": "development"})  # development runs with the default


def test_production_mode_is_checked_by_the_service_itself(make_app: Any) -> None:
    with pytest.raises(RuntimeError, match="ELICIT_SECRET"):
        make_app(MODE="production")
    app = make_app(MODE="production", SECRET="x" * 48)
    assert app.test_client().get("/v1/reports").status_code == 200


def test_rate_limit_per_key_answers_429_with_retry_after(app: Any, client: Any) -> None:
    runtime = app.extensions["elicit"]
    slow, _ = runtime.keys.create("read", "slow", rate_per_s=0.001, burst=2)  # 2 now, then one per 1000 s
    other, _ = runtime.keys.create("read", "other", rate_per_s=0.001, burst=2)
    statuses = [client.get("/v1/reports", headers={"Authorization": f"Bearer {slow}"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = client.get("/v1/reports", headers={"Authorization": f"Bearer {slow}"})
    assert limited.status_code == 429 and limited.get_json()["error"] == "rate_limited"
    assert 900 <= int(limited.headers["Retry-After"]) <= 1000
    assert client.get("/v1/reports", headers={"Authorization": f"Bearer {other}"}).status_code == 200  # per key
    subscription = {"Ocp-Apim-Subscription-Key": runtime.keys.create("decide", rate_per_s=0.001, burst=1)[0]}
    client.api_key = None
    assert client.post("/personalizer/v1.0/rank", json={"actions": [{"id": "a"}]}, headers=subscription).status_code == 201
    pz_limited = client.post("/personalizer/v1.0/rank", json={"actions": [{"id": "a"}]}, headers=subscription)
    assert pz_limited.status_code == 429 and "Retry-After" in pz_limited.headers
    assert pz_limited.get_json()["error"]["code"] == "TooManyRequests"
