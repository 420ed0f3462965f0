"""Strings a request may carry: what MongoDB, BSON and Vowpal Wabbit can hold, decided once.

Every request body is parsed by :func:`service.decide.requests.parse_json`, which walks
the parsed value once (iteratively: depth is bounded by the parser, not by Python's
stack) and refuses, with 422 naming the field:

* **any key** with a control character (Unicode category Cc: NUL, the other C0 and C1
  controls, DEL) or a lone surrogate: keys become document keys (BSON refuses NUL in a
  key; MongoDB's drivers refuse what UTF-8 cannot encode) and VW feature names;
* **any string value** with NUL or a lone surrogate: a lone surrogate cannot be encoded as
  UTF-8 at all, and NUL in an id or a feature value is never meant (C strings, logs and
  tools downstream cut at it). Other control characters in values are kept: they are
  valid in BSON and JSON, and VW text escapes them (``bandit.features``);
* **any integer** beyond 64 bits (below −2⁶³ or from 2⁶³ on): BSON stores 64-bit integers
  and the driver refuses the document. Not turned into a float: that would change the
  number silently. (Floats beyond ±1.8·10³⁰⁸ are refused by the parser already.)

Keys that begin with ``$`` or contain ``.`` are kept as they are: they only ever appear
nested (a context's or a feature map's keys), where MongoDB 5+ stores them, and elicit
never queries or updates by them; user-supplied names that *do* become field paths
(categories, creators, items in a user's state) are escaped by ``service.store.state.field_key``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bandit.errors import InvalidInput

#: What a value may not hold, and what a key may not hold (searched in C, not char by char:
#: this runs on every body on the request path).
_VALUE = re.compile("[\x00\ud800-\udfff]")
_KEY = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


_INT64 = range(-(2**63), 2**63)


def _bad(text: str, key: bool) -> str | None:
    """What is wrong with ``text``, or None."""
    found = (_KEY if key else _VALUE).search(text)
    if found is None:
        return None
    ch = found.group()
    if "\ud800" <= ch <= "\udfff":
        return "a lone surrogate (not valid Unicode text)"
    if ch == "\x00":
        return "a NUL character"
    return f"the control character U+{ord(ch):04X}"


def _shown(key: str) -> str:
    """A key as it can be printed in a field path (control characters escaped)."""
    return json.dumps(key)[1:-1] if _KEY.search(key) else key


#: JSON text that may hold one of them: an escaped control character or surrogate, DEL or
#: a C1 control written raw (raw C0 controls are not valid JSON), or a run of 19 digits
#: (2⁶³ has 19). A body without any is
#: let through without the walk: a few searches in C, where the walk is Python per key.
#: Four searches, each skipped when the byte it starts with is absent, not one alternation:
#: the alternation tried every branch at every byte (0.46 against 0.2 ms on a 50-candidate slate).
_MAY_HOLD_ESCAPE = re.compile(rb"\\u00[0-9a-fA-F]{2}|\\u007[fF]|\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\\[bfnrt]")
_MAY_HOLD_C1 = re.compile(rb"\xc2[\x80-\x9f]")
_MAY_HOLD_DIGITS = re.compile(rb"[0-9]{19}")


def may_hold(raw: bytes) -> bool:
    """Whether the JSON text ``raw`` may hold a key or string :func:`check_text` refuses.

    >>> may_hold('{"a": "plain text, accents é"}'.encode()), may_hold(rb'{"a\\u0000": 1}'), may_hold(rb'{"a": "\\ud800"}')
    (False, True, True)
    >>> may_hold(b'{"n": 9223372036854775808}'), may_hold(b'{"n": 922337203685477580}')
    (True, False)
    """
    return (
        (b"\\" in raw and _MAY_HOLD_ESCAPE.search(raw) is not None)
        or b"\x7f" in raw
        or (b"\xc2" in raw and _MAY_HOLD_C1.search(raw) is not None)
        or _MAY_HOLD_DIGITS.search(raw) is not None
    )


def check_text(value: Any) -> None:
    """Raise :class:`InvalidInput` naming the first field whose key or string value elicit
    refuses (module docstring).

    >>> check_text({"context": {"device": "tv\\tbox"}, "candidates": [{"id": "a"}]})
    >>> check_text({"context": {"a\\u0000b": 1}})
    Traceback (most recent call last):
    ...
    bandit.errors.InvalidInput: the key a\\u0000b of context holds a NUL character
    >>> check_text({"candidates": [{"id": "x\\u0000"}]})
    Traceback (most recent call last):
    ...
    bandit.errors.InvalidInput: candidates[0].id holds a NUL character
    >>> check_text({"context": {"n": 2**63}})
    Traceback (most recent call last):
    ...
    bandit.errors.InvalidInput: context.n is an integer beyond 64 bits (MongoDB stores 64-bit integers)
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = _bad(item, key=False)
            if problem is not None:
                raise InvalidInput(f"{path or 'body'} holds {problem}", field=path or "body")
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = _bad(key, key=True)
                where = f"{path}.{_shown(key)}" if path else _shown(key)
                if problem is not None:
                    raise InvalidInput(f"the key {_shown(key)} of {path or 'the body'} holds {problem}", field=where)
                stack.append((where, child))
        elif isinstance(item, int) and not isinstance(item, bool) and item not in _INT64:
            raise InvalidInput(f"{path or 'body'} is an integer beyond 64 bits (MongoDB stores 64-bit integers)",
                               field=path or "body")
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
