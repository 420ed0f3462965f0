"""Hypothesis strategies for hostile requests, generated from the service's OpenAPI document.

A request is drawn one of three ways: valid by the schema (to reach the code behind
validation); valid but for **one** value, replaced by an extreme (the case that finds
what a check misses); or extreme throughout. The extremes are what a client can send:

* integers 0, −1, 2³¹, 2⁶³ and beyond (to 10⁴⁰⁰, past any machine word);
* floats ±0, subnormals, the largest finite double, and raw ``1e999`` / ``NaN`` tokens
  (not JSON, but what a client's encoder may emit);
* strings empty, 100,000 characters, NUL and the other control characters, lone
  surrogates, right-to-left marks, ``$``- and ``.``-keys;
* arrays empty, at their limit and one past it; feature maps at their size limit and one
  past it; objects nested to the feature limit (two levels), one past it, and past the
  JSON parser's own limit (1,100 levels);
* a value of the wrong type altogether, a required field left out, an undeclared one added.

:func:`request_for` turns an operation of the document into a strategy of
``(path, query string, body bytes)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

INTEGERS = (0, -1, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, 10**400)
FLOATS = (0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308, 1e-300, 0.5)
STRINGS = (
    "", " ", "x" * 100_000, "\x00", "id\x00tail", "\x01\x1f", "\x7f", "\x85", "\ud800", "a\udfff", "\u202e",
    "\u200f\u202bltr", "\ufeff", "é", "\U0001d54f", "$where", "a.b", "..", "/", "%00", "\u2028", "\U0001f642" * 1000,
)
#: Where the document names no limit: MAX_CANDIDATES / MAX_FEATURES (service/core/config.py) and one past.
LONG_ARRAYS = (500, 501)
FEATURE_COUNTS = (200, 201)
#: Raw JSON text spliced in where a value goes (json.dumps cannot write these).
RAW_TOKENS = ("1e999", "-1e999", "NaN", "Infinity", "1" + "0" * 5000, "[" * 1100 + "]" * 1100, "{\"a\":" * 1100 + "1" + "}" * 1100)


@dataclass(frozen=True)
class Raw:
    """JSON text to splice in as it is."""

    text: str


def _opaque(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy`` behind a short repr: hypothesis prints strategies (in labels and
    warnings), and a schema's tree of unions repeats its subtrees — megabytes of text."""
    return st.just(None).flatmap(lambda _: strategy)


def _one_of_these(values: tuple[Any, ...] | list[Any]) -> st.SearchStrategy[Any]:
    """``sampled_from(values)`` drawn by index: a strategy's repr shows its constants, and
    these hold 100,000-character strings — hypothesis would print them for every node."""
    return st.integers(0, len(values) - 1).map(lambda index: values[index])


def scalars(small: bool = False) -> st.SearchStrategy[Any]:
    """Extreme leaves. ``small``: none longer than a few hundred bytes (for what is repeated
    hundreds of times: a 1 MB body is refused whole, and bigger ones only cost the test time)."""
    texts = [t for t in STRINGS if len(t) < 300] if small else list(STRINGS)
    raws = [Raw(t) for t in RAW_TOKENS if len(t) < 300 or not small]
    return st.one_of(st.sampled_from(INTEGERS), st.sampled_from(FLOATS), _one_of_these(texts),
                     st.booleans(), st.none(), _one_of_these(raws))


def strings(schema: Mapping[str, Any]) -> st.SearchStrategy[str]:
    options: list[st.SearchStrategy[str]] = [_one_of_these(STRINGS), st.text(max_size=12)]
    if "maxLength" in schema:
        limit = int(schema["maxLength"])
        options.append(st.sampled_from([limit, limit + 1]).map(lambda n: "k" * n))
    return st.one_of(*options)


def nested(depth: int) -> Any:
    value: Any = 1.0
    for level in range(depth):
        value = {f"n{level}": value}
    return value


def feature_maps() -> st.SearchStrategy[dict[str, Any]]:
    """Free-form maps (contexts, features): extreme keys and values, the size and nesting limits."""
    keys = st.one_of(_one_of_these(STRINGS[:-3] + ("x" * 300,)), st.text(max_size=8))
    values = st.one_of(scalars(), st.lists(scalars(), max_size=3), st.sampled_from([nested(1), nested(2), nested(3)]))
    small = st.dictionaries(keys, values, max_size=4)
    at_limit = st.builds(lambda n, v: {f"f{i}": v for i in range(n)}, st.sampled_from(FEATURE_COUNTS), scalars(small=True))
    return st.one_of(small, small, at_limit)


def from_schema(schema: Mapping[str, Any], doc: Mapping[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly schema-shaped values with extreme leaves; sometimes a wrong type instead."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return from_schema(doc["components"]["schemas"][name], doc, depth)
    shaped = _shaped(schema, doc, depth)
    return _opaque(st.one_of(shaped, shaped, shaped, scalars()))


def _shaped(schema: Mapping[str, Any], doc: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return st.one_of(*(from_schema(branch, doc, depth) for branch in schema[union]))
    if "const" in schema:
        return st.one_of(st.just(schema["const"]), _one_of_these(STRINGS))
    if "enum" in schema:
        return st.one_of(st.sampled_from(list(schema["enum"])), st.sampled_from(list(schema["enum"])), _one_of_these(STRINGS))
    kind = schema.get("type")
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        return st.one_of(st.sampled_from(INTEGERS), st.integers(low, high), st.integers(-3, 5))
    if kind == "number":
        return st.one_of(st.sampled_from(FLOATS + INTEGERS[:8]), st.floats(-10, 10))
    if kind == "string":
        return strings(schema)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return arrays(schema, doc, depth)
    if kind == "object" or "properties" in schema:
        if "properties" not in schema:
            return feature_maps()
        return objects(schema, doc, depth)
    return feature_maps() if depth < 3 else scalars()  # an untyped value: free-form JSON


def arrays(schema: Mapping[str, Any], doc: Mapping[str, Any], depth: int) -> st.SearchStrategy[list[Any]]:
    item = from_schema(schema.get("items", {}), doc, depth + 1)
    limit = schema.get("maxItems")
    long_sizes = (int(limit), int(limit) + 1) if limit is not None else LONG_ARRAYS
    # Long arrays repeat one valid element (a distinct suffix on string ids would need the schema's
    # meaning): the limit is checked before the elements are compared.
    small_item = valid(schema.get("items", {}), doc)
    long = st.builds(lambda element, n: [element] * n, small_item, st.sampled_from(long_sizes))
    return st.one_of(st.lists(item, max_size=3), st.lists(item, max_size=3), long)


def objects(schema: Mapping[str, Any], doc: Mapping[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
    properties: Mapping[str, Any] = schema["properties"]
    required = set(schema.get("required", ()))
    fields = {name: from_schema(sub, doc, depth + 1) for name, sub in properties.items()}
    complete = st.fixed_dictionaries({k: v for k, v in fields.items() if k in required},
                                     optional={k: v for k, v in fields.items() if k not in required})
    # One required field left out, or one field nobody declared.
    missing = st.builds(lambda d, drop: {k: v for k, v in d.items() if k != drop}, complete,
                        st.sampled_from(sorted(required) or [""]))
    extra = st.builds(lambda d, k, v: {**d, k: v}, complete, st.sampled_from(["undeclared", "undeclared\x00", "$set"]), scalars())
    return st.one_of(complete, complete, complete, missing, extra)


_PLAIN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=10)


def valid(schema: Mapping[str, Any], doc: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema accepts (ids and feature names plain, features flat and small)."""
    return _opaque(_valid(schema, doc))


def _valid(schema: Mapping[str, Any], doc: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    if "$ref" in schema:
        return valid(doc["components"]["schemas"][str(schema["$ref"]).rsplit("/", 1)[-1]], doc)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return st.one_of(*(valid(branch, doc) for branch in schema[union]))
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(schema.get("minimum", 0), min(int(schema.get("maximum", 4)), 4))
    if kind == "number":
        return st.floats(max(float(schema.get("minimum", -1.0)), -1.0), min(float(schema.get("maximum", 1.0)), 1.0))
    if kind == "string":
        return _PLAIN
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(valid(schema.get("items", {}), doc), min_size=max(1, int(schema.get("minItems", 0))), max_size=3)
    if "properties" in schema:
        fields = {name: valid(sub, doc) for name, sub in schema["properties"].items()}
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries({k: v for k, v in fields.items() if k in required},
                                     optional={k: v for k, v in fields.items() if k not in required})
    return st.dictionaries(_PLAIN, st.one_of(st.floats(-1, 1), _PLAIN), max_size=3)  # free-form: a feature map


def extremes() -> st.SearchStrategy[Any]:
    """Whatever may stand in for one value: an extreme scalar, a long array, a feature map at
    or past its limits, nesting at and past both limits."""
    return st.one_of(scalars(), scalars(), feature_maps(),
                     st.builds(lambda v, n: [v] * n, scalars(small=True), st.sampled_from(LONG_ARRAYS + (1000, 1001))))


def _places(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``value`` (the root included)."""
    found = [at]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_places(child, (*at, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_places(child, (*at, index)))
    return found


def _replaced(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    head, rest = at[0], at[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replaced(copy[head], rest, new)
    return copy


@st.composite
def one_extreme(draw: st.DrawFn, base: st.SearchStrategy[Any], fixed: frozenset[tuple[Any, ...]] = frozenset()) -> Any:
    """A value from ``base`` with one place in it replaced by an extreme (not the root, nor
    the places in ``fixed``)."""
    value = draw(base)
    places = [place for place in _places(value)[1:] if place not in fixed]
    if not places:
        return value
    return _replaced(value, draw(st.sampled_from(places)), draw(extremes()))


def encode(value: Any) -> bytes:
    """JSON text of ``value`` with every :class:`Raw` spliced in; lone surrogates escaped
    (``\\ud800``), as a client's encoder writes them."""
    spliced: list[str] = []

    def mark(found: Any) -> str:
        if isinstance(found, Raw):
            spliced.append(found.text)
            return f"@@raw{len(spliced) - 1}@@"
        raise TypeError(type(found))

    text = json.dumps(value, default=mark)
    for index, raw in enumerate(spliced):
        text = text.replace(f'"@@raw{index}@@"', raw, 1)
    return text.encode()


def url_part(value: Any) -> str:
    """A path segment or query value as a client would percent-encode it (surrogates as the
    bytes a lenient encoder writes: not valid UTF-8)."""
    text = value.text if isinstance(value, Raw) else value if isinstance(value, str) else encode(value).decode()
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def operations(doc: Mapping[str, Any]) -> list[Operation]:
    return [Operation(method.upper(), path, spec) for path, methods in doc["paths"].items() for method, spec in methods.items()]


def request_for(operation: Operation, doc: Mapping[str, Any], known_ids: list[str]) -> st.SearchStrategy[tuple[str, str, bytes | None]]:
    """``(path with its parameters filled in, query string, body)`` for ``operation``: valid,
    valid but for one extreme value (in the path, the query or the body), or extreme throughout."""
    params = operation.spec.get("parameters", [])
    path_params = [p for p in params if p["in"] == "path"]
    query_params = [p for p in params if p["in"] == "query"]
    content = operation.spec.get("requestBody", {}).get("content", {}).get("application/json")

    def parts(value_of: Any) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries({
            "path": st.fixed_dictionaries({p["name"]: value_of(p, p["schema"]) for p in path_params}),
            "query": st.fixed_dictionaries({p["name"]: value_of(p, p["schema"]) for p in query_params}),
            "body": value_of(None, content["schema"]) if content else st.just(None),
        })

    def valid_of(param: Any, schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
        if param is not None and param["in"] == "path" and "enum" not in schema:
            return st.sampled_from(known_ids)  # ids that exist, so the request gets past the lookup
        return valid(schema, doc)

    def extreme_of(param: Any, schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
        return from_schema(schema, doc) if param is None or param["in"] == "path" else st.one_of(from_schema(schema, doc), st.none())

    correct = parts(valid_of)
    mutated = one_extreme(correct, fixed=frozenset({("path",), ("query",)}))  # the containers are ours
    drawn = st.one_of(correct, mutated, mutated, mutated, parts(extreme_of))

    def build(request: dict[str, Any]) -> tuple[str, str, bytes | None]:
        path = operation.path
        for name, value in request["path"].items():
            path = path.replace("{" + name + "}", url_part(value) or "%20")
        query = "&".join(f"{quote(name)}={url_part(value)}" for name, value in request["query"].items() if value is not None)
        body = None if not content else encode(request["body"])
        return path, query, body

    return drawn.map(build)
