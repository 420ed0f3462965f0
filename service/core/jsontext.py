"""JSON text the standard library's way, written and read by orjson where that is the same.

orjson is 5–10x faster than :mod:`json`, which matters where elicit writes or reads JSON
per decision: the packed parts of every stored slate decision (service/store/compact.py)
are written on the request path and read back by the learner and by every nightly
report. The two libraries give the same *values* except at a few edges, and there these
functions take the standard library's way, so callers see exactly what :mod:`json` gives:

- writing, orjson writes NaN and ±inf as ``null`` where ``json`` (``allow_nan=False``)
  raises, and refuses non-string keys, integers beyond 64 bits and lone surrogates;
- reading, orjson reads an integer beyond 64 bits as a float (so text that may hold one
  goes to ``json``: :func:`may_exceed_orjson`), and refuses what ``json`` accepts (NaN,
  ±Infinity, overflowing exponents, lone surrogates), which then goes to ``json`` too.

The text may differ in float spelling (``1e-07`` vs ``1e-7``): both read back to the same
float, exactly (tests/service/decide/test_json_parsing.py).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19


def may_exceed_orjson(raw: bytes) -> bool:
    """Whether ``raw`` has 19 digits in a row, where an integer beyond 64 bits (which orjson
    reads as a float) can start. A byte-level translate and a substring search: ~1 µs per
    KB, where a regular expression took 20 µs per KB (more than ``json.loads`` itself).
    Long float fractions hit it too; they are read by :mod:`json`, correctly, only slower.

    >>> may_exceed_orjson(b'[12345678901234567890]'), may_exceed_orjson(b'[1234567890123456789.0]'), may_exceed_orjson(b'[0.25]')
    (True, True, False)
    """
    return _LONG_RUN in raw.translate(_DIGITS_AS_ZERO)


def dumps(value: Any) -> str:
    """``json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)``, fast.

    >>> dumps({"a": [1, 2.5, None], "b": "é"})
    '{"a":[1,2.5,null],"b":"é"}'
    >>> dumps({"x": float("nan")})
    Traceback (most recent call last):
    ...
    ValueError: Out of range float values are not JSON compliant
    """
    try:
        text = orjson.dumps(value)
    except TypeError:  # non-string keys, huge integers, lone surrogates: json's rules apply
        text = None
    # ``null`` is None or a non-finite float to orjson; only json can tell them apart.
    if text is None or b"null" in text:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.decode()


def loads(text: str, own_numbers: bool = False) -> Any:
    """``json.loads(text)``, fast. ``own_numbers``: every number in ``text`` was computed by
    elicit (satiation features, probabilities), so none is an integer beyond 64 bits and
    the check for one is skipped (VW's float32 probabilities print 19 digits and would
    always fail it).

    >>> loads('{"a": [1, 2.5e-7]}'), loads('[12345678901234567890]')
    ({'a': [1, 2.5e-07]}, [12345678901234567890])
    """
    if own_numbers or not may_exceed_orjson(text.encode("utf-8", "surrogatepass")):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # what json accepts and orjson does not (NaN, lone surrogates): json decides
    return json.loads(text)
