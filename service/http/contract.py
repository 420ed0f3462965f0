"""What each endpoint is: its scope, request and response models — declared once, next to
the view, and read both by the request checks (service/http/auth.py) and by the OpenAPI
document (service/http/openapi.py). So the published contract cannot drift from what
validates traffic: it *is* the same pydantic models and the same scope table.

>>> @endpoint(scope="read", summary="x", responses={200: "text/plain"})
... def view() -> str: return "x"
>>> spec_of(view).scope
'read'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from service.store.keys import SCOPES

PUBLIC = "public"  # no key (health checks only)
ANY = "any"  # any valid key, whatever its scope

#: A response is a pydantic model (JSON) or a media type string ("text/html"), or None (no body).
ResponseSpec = type[BaseModel] | str | None

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Spec:
    scope: str
    summary: str
    responses: Mapping[int, ResponseSpec]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    #: statuses this endpoint may answer with the error body besides the ones every
    #: authenticated endpoint has (400, 401, 403, 413, 429, 503)
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    #: the view checks its key itself (Personalizer: its own header and error body)
    own_auth: bool = False
    #: error body model of this endpoint (None: elicit's ``ErrorBody``)
    error_model: type[BaseModel] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def endpoint(**kwargs: Any) -> Callable[[F], F]:
    """Attach a :class:`Spec` to a view function (keep it the outermost decorator but one:
    Flask's ``@bp.get`` registers what this returns)."""
    spec = Spec(**kwargs)
    if spec.scope not in (PUBLIC, ANY, *SCOPES):
        raise ValueError(f"unknown scope {spec.scope!r}")

    def attach(view: F) -> F:
        view.__elicit_spec__ = spec  # type: ignore[attr-defined]
        return view

    return attach


def spec_of(view: Callable[..., Any] | None) -> Spec | None:
    return getattr(view, "__elicit_spec__", None)
