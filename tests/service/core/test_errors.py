"""The exception tree drawn in service/core/errors.py is the tree of classes, status codes included.

Every module of elicit is imported first, so an error class defined anywhere (and not
drawn) is found; each class must be drawn under its real parent with the HTTP status it
answers with, and carry a docstring of its own.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import service.core.errors
from bandit.errors import ElicitError

#: ``├── Name (Mixin)   422  text``: the name, and the status after it.
LINE = re.compile(r"^(?P<indent>[\s│├└─]*?)(?P<name>[A-Z]\w+)(?: \([\w, ]+\))?\s+(?P<status>\d{3})\s")


def drawn_tree() -> dict[str, tuple[str | None, int]]:
    """name → (parent name, status), read off the docstring's drawing."""
    tree: dict[str, tuple[str | None, int]] = {}
    stack: list[tuple[int, str]] = []
    for line in (service.core.errors.__doc__ or "").splitlines():
        found = LINE.match(line.strip("\n")[4:] if line.startswith("    ") else "")
        if not found:
            continue
        depth = len(found["indent"])
        while stack and stack[-1][0] >= depth:
            stack.pop()
        tree[found["name"]] = (stack[-1][1] if stack else None, int(found["status"]))
        stack.append((depth, found["name"]))
    return tree


def every_error_class() -> list[type[ElicitError]]:
    for package in ("bandit", "policies", "service"):
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, f"{package}."):
            importlib.import_module(module.name)
    found, todo = [], [ElicitError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_the_drawing_is_read_whole() -> None:
    tree = drawn_tree()
    assert tree["ElicitError"] == (None, 500)
    assert tree["SpoolFull"] == ("StoreUnavailable", 503)  # three levels down
    assert len(tree) >= 18


def test_every_error_class_is_drawn_under_its_parent_with_its_status() -> None:
    tree = drawn_tree()
    classes = every_error_class()
    for cls in classes:
        assert cls.__name__ in tree, f"{cls.__module__}.{cls.__name__} is not drawn in service/core/errors.py"
        parent, status = tree[cls.__name__]
        bases = [base.__name__ for base in cls.__bases__ if issubclass(base, ElicitError)]
        assert bases == ([parent] if parent else []), f"{cls.__name__}: drawn under {parent}, derives from {bases}"
        assert cls.status == status, f"{cls.__name__}: drawn {status}, answers {cls.status}"
        assert cls.__dict__.get("__doc__"), f"{cls.__name__} has no docstring of its own"
    assert set(tree) == {cls.__name__ for cls in classes}, "the drawing names a class that does not exist"


def test_a_wrong_drawing_would_be_caught() -> None:
    """The reader is strict enough to fail: moving a class under another parent changes it."""
    tree = drawn_tree()
    assert tree["LeaseLost"] == ("LearnerStopped", 500)
    assert tree["Forbidden"] == ("ElicitError", 403)
