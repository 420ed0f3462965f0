"""The durable log's Prometheus series: what was acknowledged, and where it was made durable.

Process-wide (prometheus_client's default registry; under gunicorn, shared files that
every worker adds to: service/cli/gunicorn_conf.py). ``/metrics`` serves them with the
HTTP series (service/http/metrics.py).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DECISIONS = Counter("elicit_decisions", "Decisions acknowledged, by kind and where they were made durable",
                    ["kind", "durable"])
OUTCOMES = Counter("elicit_outcomes", "Outcome events acknowledged, by where they were made durable", ["durable"])
#: every worker counts the whole spool directory, so workers agree: take the max, not the sum
SPOOL_DEPTH = Gauge("elicit_spool_depth", "Records in the local spool waiting for the store", multiprocess_mode="livemax")
SHIPPED = Counter("elicit_spool_shipped", "Spooled records shipped to the store", ["result"])
