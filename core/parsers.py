"""DRF's JSON parser with a safety check: bad input that the parser lets through is a 400 at the edge.

`json` accepts things no view can store or should walk: a lone surrogate (`"\\ud800"`, which no UTF-8
encoder, hash or database takes), NUL (PostgreSQL text cannot hold it), other control characters, a
number too big for a float (`1e999` becomes inf), and nesting deep enough to exhaust the stack (the
parser's own RecursionError). `SafeJSONParser` parses with DRF's `JSONParser` and then walks the
result once, without recursion, so every endpoint refuses such a body before any other work, with a
message naming the field: "orders[1].symbol: must not contain control characters (NUL)".
"""
from __future__ import annotations

import math
import re
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# OpenAlgo's deepest body is three levels (basketorder: {"orders": [{...}]}); the resource API's two.
MAX_DEPTH = 32

# C0 controls except tab, line feed and carriage return (which a free-text field may hold), DEL, and
# the surrogate range: after json.loads a surrogate is always a lone one (pairs become one character).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class UnsafeInput(ParseError):
    """A body that parses as JSON but may not enter the platform. `message` is "field: problem"."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        self.message = f"{field}: {problem}" if field else problem
        # DRF's own shape on /api/ ({"symbol": ["..."]}); OpenAlgo's views answer `message`.
        super().__init__({field: [problem]} if field else {"detail": problem})


def _string_problem(value: str) -> str | None:
    if _SURROGATE.search(value):
        return "is not valid Unicode (a lone surrogate)."
    control = _CONTROL.search(value)
    if control:
        name = "NUL" if control.group() == "\x00" else f"U+{ord(control.group()):04X}"
        return f"must not contain control characters ({name})."
    return None


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check(data: Any) -> None:
    """Raise UnsafeInput for the first unsafe value in a parsed JSON document (keys included)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                raise UnsafeInput(path, problem)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise UnsafeInput(path, "is not a finite number.")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise UnsafeInput(path, f"is nested too deeply (more than {MAX_DEPTH} levels).")
            items = list(value.items() if isinstance(value, dict) else enumerate(value))
            for key, _item in items:
                problem = _string_problem(key) if isinstance(key, str) else None
                if problem:
                    raise UnsafeInput(path or "body", f"a key {problem}")
            # Reversed onto the stack, so the first bad value in document order is the one named.
            stack.extend((item, _child(path, key), depth + 1) for key, item in reversed(items))


class SafeJSONParser(JSONParser):
    """DRF's JSONParser, then `check()`. A body nested past the parser's own stack is refused too."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise UnsafeInput("", f"The JSON body is nested too deeply (more than {MAX_DEPTH} levels).") from None
        check(data)
        return data
