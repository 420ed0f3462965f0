"""One read of the window's prompt decisions for every section that needs them.

Data health counts all of them; ``prompt_strategies``, ``visibility_effect``,
``format_effect`` and ``over_reaction`` each valued the joined ones — five reads of the
same decisions, each as long as the log. Now the first section that asks runs one pass:
every prompt decision feeds the health tally, and the joined ones (``evaluation_query``,
checked in Python) are handed, in the same chunks of ``CHUNK`` as the sections' own reads
made, to a consumer per section, so every sum is added in the same order as before. The
consumers are left in ``ctx.shared``; each section reads its own.

A section module registers its consumer with :func:`register` (no import of the sections
here: they import this module).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from service.core.errors import StoreError
from service.evaluate.policy_values import CHUNK
from service.log.decisions import forced_visibility
from service.reports.context import ReportContext
from service.reports.window_pass import joined_chunks

KEY = "prompt_pass"


class Consumer(Protocol):
    def add(self, chunk: Sequence[Mapping[str, Any]]) -> None: ...


#: name → factory of the consumer a section's numbers come from.
CONSUMERS: dict[str, Callable[[ReportContext], Consumer]] = {}


def register(name: str, factory: Callable[[ReportContext], Consumer]) -> None:
    CONSUMERS[name] = factory


class Passed:
    """The pass's consumers by name, and ``evaluated`` (joined decisions fed to them). A
    consumer that failed raises its error when its section asks for it: the other
    sections stand, as when each section read the log itself."""

    def __init__(self) -> None:
        self.consumers: dict[str, Consumer] = {}
        self.failed: dict[str, Exception] = {}
        self.evaluated = 0
        self.forced = 0  # joined decisions left out: their visibility was an experiment arm's

    def __getitem__(self, name: str) -> Any:
        if name in self.failed:
            raise self.failed[name]
        return self.consumers[name]

    def feed(self, chunk: list[Mapping[str, Any]]) -> None:
        self.evaluated += len(chunk)
        for name, consumer in list(self.consumers.items()):
            try:
                consumer.add(chunk)
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001 — that section's error, raised by __getitem__
                self.failed[name] = exc
                del self.consumers[name]


def prompt_pass(ctx: ReportContext) -> Passed:
    """The consumers, fed (once per report) with the window's joined prompt decisions.
    Leaves data health's prompt tally too."""
    done = ctx.shared.get(KEY)
    if done is not None:
        return done
    done = Passed()
    for name, factory in CONSUMERS.items():
        try:
            done.consumers[name] = factory(ctx)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 — as in Passed.feed
            done.failed[name] = exc
    for chunk in joined_chunks(ctx, "prompt", CHUNK):  # leaves data health's prompt tally
        # An experiment arm that imposed the visibility left the other without support: such
        # decisions count for the experiment (service/reports/experiments.py), not for these estimates.
        supported = [d for d in chunk if forced_visibility(d) is None]
        done.forced += len(chunk) - len(supported)
        if supported:
            done.feed(supported)
    ctx.shared[KEY] = done
    return done
