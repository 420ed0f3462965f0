"""Bounded option types: every number the command line takes is checked before it is used.

Click's ``FloatRange`` lets ``nan`` through (every comparison with it is false), and its
unbounded ``int``/``float`` let a typo of ``--users 1e9`` allocate a billion simulated
users. The same limits as the HTTP surface where both exist (``KeyCreate``).

    >>> Finite(0, 1e6).convert("12.5", None, None)
    12.5
    >>> Finite(0, 1e6).convert("nan", None, None)
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: nan is not a finite number
"""

from __future__ import annotations

import math
from typing import Any

import click


class Finite(click.FloatRange):
    """A finite float in ``[low, high]`` (``low_open``: ``low`` itself excluded)."""

    name = "finite float"

    def __init__(self, low: float, high: float, low_open: bool = False, high_open: bool = False) -> None:
        super().__init__(min=low, max=high, min_open=low_open, max_open=high_open)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


PORT = click.IntRange(0, 65535)
RATE = Finite(0, 1e6)  # requests per second; 0: unlimited
BURST = click.IntRange(1, 1_000_000)
