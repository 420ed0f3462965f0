"""The report's sections, in the order they are computed and shown.

Pluggable: a section is ``(name, title, build)`` where ``build(ctx) -> dict`` returns a
JSON-able dict with at least ``status`` (``ok`` | ``no_data`` | ``pending`` | ``error``),
``note`` (why there is nothing, else null) and ``verdicts`` (plain-language lines). Later
sections may read earlier ones through ``ctx.results``. :func:`register` replaces a
section of the same name or appends a new one; the HTML page renders any section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.reports.apprentice import apprentice_section
from service.reports.context import ReportContext
from service.reports.effects import format_effect, visibility_effect
from service.reports.experiments import experiments_section
from service.reports.health import health_section
from service.reports.over_reaction import over_reaction
from service.reports.prompts import prompt_strategies
from service.reports.slates import slates_section

Builder = Callable[[ReportContext], dict[str, Any]]


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    build: Builder


SECTIONS: list[Section] = [
    Section("slates", "Slates: the live policy against baselines", slates_section),
    Section("data_health", "Data health", health_section),  # after slates: reads its effective sample sizes
    Section("prompt_strategies", "Prompt strategies", prompt_strategies),
    Section("visibility_effect", "Visibility effect: public vs private", visibility_effect),
    Section("format_effect", "Format effect: single vs graded thumbs", format_effect),
    Section("over_reaction", "Over-reaction: the berserk index", over_reaction),
    Section("experiments", "Experiments: users randomised to arms", experiments_section),
    Section("apprentice", "Apprentice mode: match rate with the baseline", apprentice_section),
]


def register(section: Section) -> None:
    """Replace the section called ``section.name``, or append it.

    >>> before = list(SECTIONS)
    >>> register(Section("slates", "x", lambda ctx: {}))
    >>> [s.title for s in SECTIONS if s.name == "slates"], len(SECTIONS) == len(before)
    (['x'], True)
    >>> SECTIONS[:] = before
    """
    for index, existing in enumerate(SECTIONS):
        if existing.name == section.name:
            SECTIONS[index] = section
            return
    SECTIONS.append(section)


def titles() -> dict[str, str]:
    return {section.name: section.title for section in SECTIONS}
