"""Response (and query) models: what each endpoint answers, as pydantic models.

They document the contract (service/http/openapi.py puts them in ``/openapi.json``) and, with
``TESTING`` on, every JSON response is validated against the model its endpoint declares
(service/http/openapi.py, ``check_response``), so a view cannot answer something the contract
does not say. The request models live where they validate traffic (service/decide/requests.py,
service/decide/catalogue.py, service/http/personalizer/requests.py, service/http/routes/admin.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Out):
    error: str = Field(description="machine-readable code, e.g. invalid_input, unauthorized, rate_limited")
    message: str
    field: str | None = Field(None, description="dotted path of the offending field, when one is to blame")


class Health(_Out):
    status: Literal["ok"]


class Ready(_Out):
    status: Literal["ready", "unavailable"]
    store: Literal["ok", "unreachable"]
    models: dict[str, str] | None = None
    spool: int | None = Field(None, description="records waiting in this worker's spool for the store")
    message: str | None = None


class SlotChoice(_Out):
    slot: int
    slot_id: str
    item_id: str
    probability: float = Field(gt=0, le=1, description="conditional on the slots before it")


class Excluded(_Out):
    item_id: str
    reason: Literal["consumed", "durable_cooldown", "thumbs_down", "creator_exhausted", "cap"]


class SlateDecision(_Out):
    event_id: str
    model_version: str
    slate: list[SlotChoice]
    excluded: list[Excluded]
    experiments: dict[str, str] | None = Field(None, description="The user's arm in each running experiment "
                                                                 "that enrols them (absent when none)")


class OutcomesAccepted(_Out):
    event_id: str
    outcome_id: str
    duplicate: bool
    in_window: bool
    spooled: bool | None = Field(None, description="true: held in the local spool until the store is back")


class Activated(_Out):
    event_id: str
    activated: bool
    changed: bool


class PromptDecision(_Out):
    event_id: str
    ask: bool
    format: Literal["single", "graded"] | None
    visibility: Literal["private", "public"] | None
    probability: float = Field(gt=0, le=1)
    model_version: str
    experiments: dict[str, str] | None = Field(None, description="The user's arm in each running experiment "
                                                                 "that enrols them (absent when none)")


class PromptAnswer(_Out):
    event_id: str
    accepted: bool
    in_window: bool


class FeedbackRecorded(_Out):
    feedback_id: str
    recorded: bool


class PublicFeedbackEntry(_Out):
    item_id: str
    value: Literal["down", "up", "double_up"]
    t: int
    source: str


class PublicFeedback(_Out):
    user_id: str
    feedback: list[PublicFeedbackEntry]


class ItemsWritten(_Out):
    inserted: int
    replaced: int


class Item(_Out):
    id: str
    category: str | None
    creator: str | None
    kind: Literal["single", "repeatable", "durable"] | None
    features: dict[str, Any] | None
    updated_at: int | None


class Report(BaseModel):
    """A stored off-policy report; every field is described in docs/report.md."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(alias="_id")
    kind: Literal["nightly", "on_demand"]
    created_at: int
    window: dict[str, Any]
    verdicts: list[dict[str, Any]]


class ReportList(_Out):
    reports: list[Report]


class UserForgotten(_Out):
    forgotten: Literal[True]
    user_state: int = Field(description="user state documents deleted")
    feedback: int = Field(description="feedback documents deleted")
    decisions: int = Field(description="decisions whose user key was replaced by the tombstone")


class ModelVersion(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(alias="_id")
    kind: str
    version: int


class ModelList(_Out):
    models: list[ModelVersion]
    serving: dict[str, str]


# query parameters --------------------------------------------------------------------------

ReportKind = Literal["nightly", "on_demand"]


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")  # unknown query parameters are ignored, as before


class FeedbackQuery(_Query):
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class ReportListQuery(_Query):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    kind: ReportKind | None = None


class ReportKindQuery(_Query):
    kind: ReportKind | None = None


# Personalizer ------------------------------------------------------------------------------


class PersonalizerErrorDetail(_Out):
    code: str
    message: str
    target: str | None = None


class PersonalizerError(_Out):
    error: PersonalizerErrorDetail


class RankedAction(_Out):
    id: str
    probability: float = Field(ge=0, le=1)


class RankResponse(_Out):
    ranking: list[RankedAction]
    eventId: str
    rewardActionId: str


class SlotResponse(_Out):
    id: str
    rewardActionId: str | None = None


class MultiSlotRankResponse(_Out):
    slots: list[SlotResponse]
    eventId: str


class ApiVersionQuery(_Query):
    api_version: Literal["2022-09-01-preview"] = Field(alias="api-version")


class ArmOut(_Out):
    name: str
    share: float
    settings: dict[str, Any]


class ArmCounts(_Out):
    users: int
    decisions: int


class ExperimentOut(_Out):
    name: str
    arms: list[ArmOut]
    enrolled: float
    start: int = Field(description="event time, epoch ms")
    stop: int | None = Field(description="event time, epoch ms; unset: runs until stopped")
    description: str
    sets: list[str] = Field(description="the settings its arms change (two running experiments may not share one)")
    status: Literal["scheduled", "running", "stopped"]
    counts: dict[str, ArmCounts] | None = Field(None, description="per arm, from the log")


class ExperimentList(_Out):
    experiments: list[ExperimentOut]
