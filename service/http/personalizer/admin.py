"""Personalizer's administration bodies, mapped onto elicit's own operations.

Learning settings ("policy") are the slate model's VW arguments (Personalizer's Rank is
elicit's one-slot slate); evaluations are elicit's offline evaluations
(service/runtime/evaluations.py) shown in Personalizer's ``Evaluation`` shape; the model is
the newest published slate version's VW file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bandit.errors import InvalidInput

Name = Annotated[str, Field(min_length=1, max_length=256)]
Args = Annotated[str, Field(min_length=1, max_length=2000)]

#: elicit's evaluation rows → Personalizer's ``policySource`` (the logged row has no counterpart).
SOURCES = {"live": "Online", "baseline": "Baseline", "uniform": "Random", "optimized": "OfflineExperimentation"}
#: elicit's evaluation status → Personalizer's.
STATUS = {"running": "Running", "done": "Succeeded", "failed": "Failed"}


class PolicyContract(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: Name
    arguments: Args


class EvaluationContract(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: Name
    startTime: dt.datetime
    endTime: dt.datetime
    enablePolicyOptimization: bool = True
    policies: Annotated[list[PolicyContract], Field(max_length=10)] = Field(default_factory=list)


class ApplyFromEvaluation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    evaluationId: Name
    policyName: Name


class PersonalizerEvaluation(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    status: str
    startTime: str
    endTime: str
    creationTime: str
    evaluationType: str


class PersonalizerEvaluationList(BaseModel):
    value: list[PersonalizerEvaluation]
    nextLink: str | None = None


class ModelProperties(BaseModel):
    creationTime: str | None
    lastModifiedTime: str | None


class ServiceConfiguration(BaseModel):
    model_config = ConfigDict(extra="allow")
    rewardWaitTime: str
    defaultReward: float
    rewardAggregation: str
    explorationPercentage: float
    modelExportFrequency: str
    logRetentionDays: int
    learningMode: str


def ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def iso(ms_value: int | None) -> str | None:
    """>>> iso(0)
    '1970-01-01T00:00:00Z'"""
    if ms_value is None:
        return None
    return dt.datetime.fromtimestamp(ms_value / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float) -> str:
    """ISO 8601 duration, as Personalizer writes its times.

    >>> duration(600), duration(3661)
    ('PT10M', 'PT1H1M1S')
    """
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return "PT" + "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n) if whole else "PT0S"


def row_name(personalizer_name: str, rows: Mapping[str, Any]) -> str:
    """elicit's row for a policy name as Personalizer shows it (supplied ones without ``user:``)."""
    for name in (personalizer_name, f"user:{personalizer_name}"):
        if name in rows:
            return name
    raise InvalidInput(f"no learning settings {personalizer_name!r} in this evaluation", field="policyName")


def evaluation_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """An elicit evaluation document as Personalizer's ``Evaluation``."""
    status = STATUS.get(doc["status"], "Failed")
    if doc.get("applied"):
        status = "OptimalPolicyApplied"
    view: dict[str, Any] = {
        "id": doc["_id"], "name": doc.get("name") or doc["_id"], "status": status,
        "startTime": iso(doc["since"]), "endTime": iso(doc["until"]), "creationTime": iso(doc["created_at"]),
        "evaluationType": "Auto" if doc.get("run") == "auto" else "Manual",
    }
    result = doc.get("result")
    if result:
        rows = [row for row in result["policies"] if row["name"] != "logged"]
        view["content"] = {"startTime": iso(result["since"]), "endTime": iso(result["until"]), "value": [
            {"name": row["name"].removeprefix("user:"), "arguments": row["vw_args"] or "",
             "policySource": SOURCES.get(row["name"], "Custom"), "slotId": "",
             "summary": {"expectedReward": row["value"], "confidenceInterval": [row["low"], row["high"]]}}
            for row in rows]}
        optimized = next((row for row in rows if row["name"] == "optimized"), None)
        if optimized is not None:
            view["optimalPolicy"] = optimized["vw_args"]
    return view
