"""Off-policy evaluation: what would another policy have earned on our log?

Pure numpy/scipy. Build a :class:`LoggedData` from the logged rows and the target
policy's probability of each logged action, then ask an estimator::

    from bandit.ope import DR, IPS, SNIPS, LoggedData, compare, diagnostics

    data = LoggedData(reward=r, p_log=p_log, p_target=p_new, q_hat=q_hat, q_target=q_new)
    IPS().interval(data)                                  # Interval(estimate, low, high)
    DR().interval(data, method="bootstrap", n_boot=1000, seed=7)
    diagnostics(data).effective_sample_size               # trust check before reading
    compare(data, data_old_policy, SNIPS())                # paired difference + p-value

Slates: one row per slot with ``slot`` (0-based) and ``decision``, then
:class:`CascadeIPS`, :class:`SNCascadeIPS` or :class:`SlateIPS`.

Large logs: summarise chunk by chunk and merge, in any order::

    total = sum((StreamingEstimate(IPS()).update(chunk) for chunk in chunks), StreamingEstimate(IPS()))
    total.interval(method="bernstein")
"""

from bandit.ope.compare import Comparison, compare
from bandit.ope.core import Estimator
from bandit.ope.data import LoggedData
from bandit.ope.diagnostics import Diagnostics, StreamingDiagnostics, diagnostics
from bandit.ope.estimators import DM, DR, IPS, SNIPS, ClippedIPS
from bandit.ope.interval import Interval
from bandit.ope.slates import CascadeIPS, SlateIPS, SNCascadeIPS
from bandit.ope.streaming import StreamingEstimate

__all__ = [
    "DM",
    "DR",
    "IPS",
    "SNIPS",
    "CascadeIPS",
    "ClippedIPS",
    "Comparison",
    "Diagnostics",
    "Estimator",
    "Interval",
    "LoggedData",
    "SNCascadeIPS",
    "SlateIPS",
    "StreamingDiagnostics",
    "StreamingEstimate",
    "compare",
    "diagnostics",
]
