"""Personalizer features → elicit feature dicts.

Personalizer takes features as a *list* of JSON objects (``contextFeatures``, an action's
or a slot's ``features``); elicit takes one dict whose values are strings, finite numbers,
booleans, lists of strings, or one level of nested object (its own VW namespace). The
objects are merged in order:

* a top-level key with a scalar (string, number, boolean) or a list of strings is kept;
* a top-level key with an object becomes a namespace (as in Personalizer, where each
  top-level object is a VW namespace); objects under the same key merge;
* deeper objects are flattened into their namespace with ``.`` between names
  (``{"user": {"geo": {"city": "Paris"}}}`` → namespace ``user``, feature ``geo.city``);
* a list of numbers becomes one numeric feature per position (``emb.0``, ``emb.1``, ...);
* ``null`` is dropped (VW has no missing value); anything else is a 400 naming the field;
* on a repeated key the later object wins (namespaces merge key by key).

>>> flatten([{"user": {"profile": "anon", "geo": {"city": "Paris"}}}, {"mobile": True}, {"emb": [0.5, 1]}], field="f")
{'user': {'profile': 'anon', 'geo.city': 'Paris'}, 'mobile': True, 'emb.0': 0.5, 'emb.1': 1}
"""

from __future__ import annotations

from typing import Any

from bandit.errors import InvalidInput

SEPARATOR = "."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _put(target: dict[str, Any], name: str, value: Any, field: str) -> None:
    """Store one value under ``name`` in ``target`` (a flat dict), flattening what elicit cannot nest."""
    if value is None:
        return
    if isinstance(value, dict):
        for key, inner in value.items():
            _put(target, f"{name}{SEPARATOR}{key}", inner, f"{field}.{key}")
    elif isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            if value:
                target[name] = list(value)
        elif all(_is_number(item) for item in value):
            for index, item in enumerate(value):
                target[f"{name}{SEPARATOR}{index}"] = item
        else:
            raise InvalidInput("a feature list must hold only strings or only numbers", field=field)
    elif isinstance(value, (str, bool, int, float)):
        target[name] = value
    else:  # pragma: no cover - JSON has no other types
        raise InvalidInput(f"unsupported feature value of type {type(value).__name__}", field=field)


def flatten(objects: Any, *, field: str) -> dict[str, Any]:
    """Merge Personalizer's list of feature objects into one elicit feature dict."""
    if objects is None:
        return {}
    if not isinstance(objects, list):
        raise InvalidInput("must be a list of JSON objects", field=field)
    merged: dict[str, Any] = {}
    for index, obj in enumerate(objects):
        where = f"{field}[{index}]"
        if not isinstance(obj, dict):
            raise InvalidInput("each entry must be a JSON object", field=where)
        for key, value in obj.items():
            if isinstance(value, dict):
                space = merged.get(key)
                if not isinstance(space, dict):
                    space = merged[key] = {}
                for inner_key, inner in value.items():
                    _put(space, inner_key, inner, f"{where}.{key}.{inner_key}")
                if not space:
                    del merged[key]
            else:
                merged.pop(key, None)  # the later object wins, also over a namespace
                _put(merged, key, value, f"{where}.{key}")
    return merged
