"""What every command that works on the log needs: a time from the command line, and the
process's runtime without HTTP or background jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from service.core.clock import epoch_ms
from service.core.config import load_config

if TYPE_CHECKING:
    from service.runtime.process import Runtime


def parse_time(text: str | None, default_ms: int) -> int:
    """ISO date or datetime (UTC unless it says otherwise), or epoch milliseconds."""
    if text is None:
        return default_ms
    if text.isascii() and text.isdigit() and len(text) > 15:  # past the year 33658: a typo, beyond BSON's dates
        raise click.BadParameter(f"{text} is too large for epoch milliseconds")
    try:
        return epoch_ms(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is neither an ISO date/time nor epoch milliseconds") from exc


def offline_runtime() -> Runtime:
    """The process's runtime without HTTP or background jobs, for one command."""
    from service.core.config import check_mode
    from service.http.logs import configure
    from service.runtime.process import Runtime

    settings = load_config({"BACKGROUND_JOBS": False})
    check_mode(settings)  # production mode: a real secret, or no command at all
    configure(settings)
    return Runtime(settings)
