"""Structured logs: one JSON object per line, and an access line per request with its event id.

The access line names the URL *rule* (``/v1/users/<user_id>/public-feedback``), the key id
(never the key) and the event id of the decision or outcome the request was about — not
the concrete path, which may hold a raw user id: raw user ids never reach the logs. For
the same reason werkzeug's own access log (which prints the raw path) is silenced.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request

access = logging.getLogger("elicit.access")
#: LogRecord attributes that are not "extra" fields of a record
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...extra fields..., "exc"}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure(config: Mapping[str, Any]) -> None:
    """Root handler with the configured format, unless something (pytest, gunicorn's
    logconfig) installed handlers already."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        if str(config.get("LOG_FORMAT", "json")) == "json":
            handler.setFormatter(JsonFormatter())
        else:
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # its access lines print raw paths


def _event_id(response: Response) -> str | None:
    found = (request.view_args or {}).get("event_id")
    if found is None and response.mimetype == "application/json" and not response.direct_passthrough:
        try:
            body = response.get_json(silent=True)
        except Exception:
            body = None
        if isinstance(body, dict):
            found = body.get("event_id") or body.get("eventId")
    return found if isinstance(found, str) else None


def _start() -> None:
    g.elicit_log_started = time.perf_counter()


def _log(response: Response) -> Response:
    started = g.get("elicit_log_started")
    principal = g.get("principal")
    access.info(
        "request",
        extra={
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule is not None else "unmatched",
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 2) if started is not None else None,
            "key_id": principal.key_id if principal is not None else None,
            "event_id": _event_id(response),
        },
    )
    return response


def install(app: Flask) -> None:
    configure(app.config)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_log)
