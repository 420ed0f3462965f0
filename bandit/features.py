"""Turn JSON feature dicts into Vowpal Wabbit text that no name or value can break.

Scheme, for ``encode(features, "ctx")``::

    {"device": "mobile", "hour": 13, "premium": True, "tags": ["a", "b"],
     "price": 9.5, "geo": {"city": "Paris"}}
    -> '|ctx device=mobile hour:13 premium=true tags=a tags=b price:9.5e+0 |ctx_geo city=Paris'

* ``str`` -> one categorical token ``name=value`` (VW weight 1).
* ``bool`` -> categorical ``name=true`` / ``name=false``: as a number False would be 0,
  which VW drops, so it would carry nothing. ``True`` and ``"true"`` are thus the same
  feature, on purpose (clients send either).
* ``int`` / ``float`` -> ``name:value``. A value that is 0 in float32 is left out: VW drops
  zero-valued features itself, and a linear model cannot tell them from absent ones.
* list of ``str`` -> one ``name=item`` token per item, duplicates kept (a bag of words);
  ``["a"]`` is the same feature as ``"a"``.
* ``dict`` (top level only) -> its own namespace ``<namespace>_<escaped key>``. ``namespace``
  may not contain ``_``, so a user key can never produce another of elicit's namespaces.
  All of them start with the caller's letter, VW's interaction index, so ``-q`` on that
  letter covers nested features too. Tokens keep the input's order.

Every name, value and namespace key goes through :func:`escape_token` (percent-encoding of
the bytes of ``% | : =``, whitespace, control/format characters and lone surrogates), so a
token never contains the characters VW's text parser splits on: space, tab, ``|``, ``:``,
``\\r`` and the line break. Numeric names that escape to bare ASCII digits get their first
digit escaped too, since VW hashes an all-digit name as the integer itself ("7" and "07"
would be one feature). A token longer than 256 characters is cut and ends in ``%~`` plus a
128-bit BLAKE2b digest of the whole token; ``%~`` never occurs otherwise.

Numbers: VW's hand-written float parser multiplies float digits by a float power of ten,
which is off by a few ulps and turns values below about 1e-22 into 0; whenever the text is
not in its easy form it falls back to ``strtof``, which is correctly rounded. So integers
up to 10**7 (exact on the easy path) are written as plain digits, and every other value as
Python's shortest repr (positional if its exponent would be negative) followed by the no-op
exponent ``e+0`` unless it already has ``e+``: the ``+`` sends VW to ``strtof``.

This module must not import vowpalwabbit: it is pure text, tested against VW elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
import unicodedata
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from bandit.errors import FeatureError

__all__ = ["validate", "encode", "escape_token", "unescape_token", "nested_namespace"]

MAX_TOKEN = 256  # characters; longer tokens are shortened with a digest
_ESC = "%"
_EMPTY = "%"  # a lone '%' can't be any other escape: those are always '%' + two hex digits
_CUT = "%~"  # marks a shortened token; '~' is not hex, so escape_token never emits it
_RESERVED = frozenset("%|:=")  # escape char, VW's separators, and our name=value separator
# Whitespace, controls, format characters, separators and surrogates: invisible or split-prone.
# Unassigned code points stay raw so a token does not change when Python's Unicode tables grow.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
_SAFE_ASCII = re.compile(r"[!-~]*")  # printable ASCII without space: a fast path
_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HEX_ESCAPE = re.compile(r"%([0-9A-F]{2})")
# VW's easy path computes acc * 10 + ord(digit) - ord("0") in float32: it is exact only while
# that sum stays below 2**24, so 16777169 reads as 16777168. 10**7 + 57 is well below.
_EXACT_INT = 10**7


def escape_token(text: str) -> str:
    """Reversible escape: percent-encode the UTF-8 bytes of every character VW could split on.

    >>> escape_token("New York|NY: 10%")
    'New%20York%7CNY%3A%2010%25'
    >>> escape_token(""), escape_token("caf\\u00e9"), escape_token("a\\tb\\u00a0c")
    ('%', 'café', 'a%09b%C2%A0c')
    """
    if not text:
        return _EMPTY
    if _SAFE_ASCII.fullmatch(text) and not _RESERVED.intersection(text):
        return text
    return "".join(_escape_char(ch) if _unsafe(ch) else ch for ch in text)


def unescape_token(token: str) -> str:
    """Inverse of :func:`escape_token` (not of the digest shortening ``encode`` applies).

    >>> unescape_token(escape_token("a b:c|d=%"))
    'a b:c|d=%'
    """
    if token == _EMPTY:
        return ""
    raw = bytearray()
    pos = 0
    while pos < len(token):
        match = _HEX_ESCAPE.match(token, pos)
        if match:
            raw.append(int(match.group(1), 16))
            pos = match.end()
        else:
            raw += token[pos].encode("utf-8", "surrogatepass")
            pos += 1
    return raw.decode("utf-8", "surrogatepass")


def nested_namespace(namespace: str, key: str) -> str:
    """VW namespace name of the nested dict ``key`` under ``namespace``.

    >>> nested_namespace("ctx", "geo"), nested_namespace("ctx", "a b")
    ('ctx_geo', 'ctx_a%20b')
    """
    return _bounded(f"{_check_namespace(namespace)}_{escape_token(key)}")


def validate(
    features: Mapping[str, Any], *, field: str, max_features: int = 200, max_string: int = 1024
) -> None:
    """Raise FeatureError naming the exact field on any bad name/value/type/limit.

    ``max_features`` counts features as sent (each list item is one, zeros too: it bounds
    the work a request causes); ``max_string`` bounds every name, string value and list
    item, in characters. Finite numbers beyond float32 are refused: VW holds float32.

    >>> validate({"geo": {"lat": float("nan")}}, field="context")
    Traceback (most recent call last):
    ...
    bandit.errors.FeatureError: not a finite number: nan
    >>> validate({"tags": ["a", 1]}, field="context")
    Traceback (most recent call last):
    ...
    bandit.errors.FeatureError: list items must be strings, not int
    """
    count = 0
    for _, path, name, value in _entries(features, field):
        if len(name) > max_string:
            raise FeatureError(f"feature name longer than {max_string} characters", field=path)
        items = value if isinstance(value, (list, tuple)) else [value]
        for index, item in enumerate(items):
            if isinstance(item, str) and len(item) > max_string:
                where = f"{path}[{index}]" if items is value else path
                raise FeatureError(f"string longer than {max_string} characters", field=where)
        _tokens(name, value, path)  # type and number checks; zeros count too: the limit is on input
        count += len(value) if isinstance(value, (list, tuple)) else 1
        if count > max_features:
            raise FeatureError(f"more than {max_features} features", field=field)


def encode(features: Mapping[str, Any], namespace: str) -> str:
    """VW text for the features: scalars and lists under ``namespace``, each nested dict
    under :func:`nested_namespace`. '' when nothing would reach VW.

    Assumes :func:`validate` passed, but still raises FeatureError rather than emit text
    that VW would misread (a bad type, a non-finite number).

    >>> encode({"device": "mobile", "hour": 13, "geo": {"city": "Paris"}}, "ctx")
    '|ctx device=mobile hour:13 |ctx_geo city=Paris'
    >>> encode({"a b": "x|y", "ok": False, "w": 0.25, "n": 0}, "ctx")
    '|ctx a%20b=x%7Cy ok=false w:0.25e+0'
    >>> encode({}, "ctx")
    ''
    """
    prefix = _check_namespace(namespace)
    segments: dict[str, list[str]] = {}
    for key, path, name, value in _entries(features, prefix):
        space = prefix if key is None else nested_namespace(prefix, key)
        segments.setdefault(space, []).extend(_tokens(name, value, path))
    return " ".join(f"|{space} {' '.join(tokens)}" for space, tokens in segments.items() if tokens)


def _unsafe(ch: str) -> bool:
    return ch in _RESERVED or ch.isspace() or unicodedata.category(ch) in _UNSAFE_CATEGORIES


def _escape_char(ch: str) -> str:
    # 'surrogatepass' because JSON can carry lone surrogates ("\ud800") that UTF-8 refuses.
    return "".join(f"%{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass"))


def _bounded(token: str, limit: int = MAX_TOKEN) -> str:
    """Cut an over-long token to ``limit`` characters, keeping it distinct by a digest."""
    if len(token) <= limit:
        return token
    digest = hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    head = token[: limit - len(_CUT) - len(digest)]
    cut = head.find(_ESC, len(head) - 2)  # don't leave half a '%XX' behind
    head = head if cut < 0 else head[:cut]
    while True:  # nor part of a character's UTF-8 bytes: the head stays a readable prefix
        try:
            unescape_token(head)
            return head + _CUT + digest
        except UnicodeDecodeError:
            head = head[: head.rfind(_ESC)]


def _check_namespace(namespace: str) -> str:
    # A programming error, not bad input: elicit's own namespaces are constants.
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"namespace must match [A-Za-z][A-Za-z0-9]*, got {namespace!r}")
    return namespace


def _child(field: str, name: Any) -> str:
    """Dotted path for plain names, a JSON-quoted subscript for anything a dot would hide."""
    if isinstance(name, str) and _SIMPLE_KEY.fullmatch(name):
        return f"{field}.{name}"
    return f"{field}[{json.dumps(name) if isinstance(name, str) else repr(name)}]"


def _entries(features: Any, field: str) -> Iterator[tuple[str | None, str, str, Any]]:
    """Yield (nested key or None, path, name, value) for every scalar or list feature."""
    if not isinstance(features, Mapping):
        raise FeatureError(f"features must be an object, not {type(features).__name__}", field=field)
    for name, value in features.items():
        path = _child(field, name)
        if not isinstance(name, str):
            raise FeatureError("feature names must be strings", field=path)
        if not isinstance(value, Mapping):
            yield None, path, name, value
            continue
        for inner, inner_value in value.items():
            inner_path = _child(path, inner)
            if not isinstance(inner, str):
                raise FeatureError("feature names must be strings", field=inner_path)
            if isinstance(inner_value, Mapping):
                raise FeatureError("objects nest one level deep at most", field=inner_path)
            yield name, inner_path, inner, inner_value


def _tokens(name: str, value: Any, path: str) -> list[str]:
    """The VW tokens of one feature; FeatureError(path) if it has none that VW reads right."""
    if value is None:
        raise FeatureError("null is not a feature value; leave the feature out", field=path)
    key = escape_token(name)
    if isinstance(value, bool):  # before int: bool is an int subclass
        return [_bounded(f"{key}={'true' if value else 'false'}")]
    if isinstance(value, str):
        return [_bounded(f"{key}={escape_token(value)}")]
    if isinstance(value, (int, float)):
        number = _float32(value, path)
        if number == 0:
            return []
        if key.isascii() and key.isdigit():  # VW would hash it as the integer itself
            key = _escape_char(key[0]) + key[1:]
        text = _number(value)  # at most ~70 characters, so the name keeps ~180
        return [f"{_bounded(key, MAX_TOKEN - 1 - len(text))}:{text}"]
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                kind = type(item).__name__
                raise FeatureError(f"list items must be strings, not {kind}", field=f"{path}[{index}]")
        return [_bounded(f"{key}={escape_token(item)}") for item in value]
    raise FeatureError(f"unsupported feature type {type(value).__name__}", field=path)


def _float32(value: int | float, path: str) -> float:
    """The value VW will hold (a float32); FeatureError if there is none."""
    try:
        number = float(value)
        if math.isfinite(number):
            number = struct.unpack("f", struct.pack("f", number))[0]
    except OverflowError:  # an int beyond float64, or a float struct refuses to narrow
        number = math.inf
    if not math.isfinite(number):
        # No repr of a huge int: past 4300 digits Python refuses to print it at all.
        shown = repr(value) if isinstance(value, float) else "an integer beyond float32"
        raise FeatureError(f"not a finite number: {shown}", field=path)
    return number


def _number(value: int | float) -> str:
    """Text VW's parser reads as the float32 nearest to ``value`` (see the module doc)."""
    if isinstance(value, int) and abs(value) <= _EXACT_INT:
        return str(value)
    number = float(value)
    if number.is_integer() and abs(number) <= _EXACT_INT:
        return str(int(number))
    text = repr(number)
    if "e+" in text:
        return text
    if "e" in text:  # negative exponent: positional digits, so the '+' below can follow
        text = format(Decimal(text), "f")
    return text + "e+0"
