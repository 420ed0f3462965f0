"""The durable log's Prometheus series: what was acknowledged, and where it was made durable.

Process-wide (prometheus_client's default registry; under gunicorn, shared files that
every worker adds to: service/cli/gunicorn_conf.py). ``/metrics`` serves them with the
HTTP series (service/http/metrics.py).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DECISIONS = Counter("elicit_decisions", "Decisions acknowledged, by kind and where they were made durable",
                    ["kind", "durable"])
OUTCOMES = Counter("elicit_outcomes", "Outcome events acknowledged, by where they were made durable", ["durable"])
#: every worker counts the whole spool directory, so workers agree: take the max, not the sum
SPOOL_DEPTH = Gauge("elicit_spool_depth", "Records in the local spool waiting for the store", multiprocess_mode="livemax")
SHIPPED = Counter("elicit_spool_shipped", "Spooled records shipped to the store", ["result"])
#: documents per group-commit write (service/log/group_commit.py): 1 when requests come one at a time
BATCH = Histogram("elicit_log_batch_documents", "Documents per durable write of decisions or outcomes (group commit)",
                  ["collection"], buckets=(1, 2, 4, 8, 16, 32, 64, 128))
