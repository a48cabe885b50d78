"""Redaction: no secret ever lands in a log row.

Three layers, applied to everything the analytics app writes (and to the strategy signals kept by strategies):
- by name: a value whose key (JSON field, form or query parameter, log `extra`) names a secret — API keys,
  passwords, tokens, secrets, TOTP and backup codes, Authorization, cookies — is replaced whole;
- by shape: text that looks like an AlgoDesk API key, a bearer or Api-Key credential, `name=value` with a
  secret's name, an otpauth:// URI or a base32 TOTP secret is replaced wherever it appears;
- paths: a long random-looking segment (a webhook's secret id, a token in a URL) is replaced.
Then the text is bounded. Headers are never stored.
"""
from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "[redacted]"

# Field names (lower-cased, "-" and "_" removed) that hold a secret, matched as substrings...
_SECRET_PARTS = ("apikey", "password", "passwd", "passphrase", "secret", "token", "authorization", "otp",
                 "credential", "cookie", "session", "csrf", "privatekey", "signature", "backupcode")
# ...and names that are secrets only as a whole word (a "code" is a TOTP code on the sign-in forms).
_SECRET_NAMES = frozenset({"key", "pin", "code", "codes", "auth", "pwd", "pass", "hash", "keyhash", "rawkey",
                           "plaintext", "xapikey"})

_SHAPES: list[tuple[re.Pattern, Any]] = [
    (re.compile(r"otpauth://\S+"), REDACTED),
    # AlgoDesk API keys (<12 hex>.<43 url-safe>) and any <hex prefix>.<long url-safe secret> alike
    (re.compile(r"\b[0-9a-f]{6,16}\.[A-Za-z0-9_\-]{20,}"), REDACTED),
    # a credential after its scheme word: "Bearer x", "Api-Key x", "Token x", "Basic x"
    (re.compile(r"(?i)\b(bearer|api-key|apikey|token|basic)(?:\s+|:\s*)[A-Za-z0-9._~+/=\-]{8,}"),
     lambda m: f"{m.group(1)} {REDACTED}"),
    # name=value, name: value, "name": "value" with a secret's name (query strings, messages, JSON text)
    (re.compile(r"(?i)([\"']?[a-z_\-]*(?:apikey|api_key|api-key|password|passwd|secret|token|otp|authorization)"
                r"[a-z_\-]*[\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&,;\"'}]+)"),
     lambda m: m.group(1) + REDACTED),
    (re.compile(r"\b[A-Z2-7]{26,}={0,6}"), REDACTED),  # base32 TOTP secrets
]
# One search for any of the shapes, case-insensitive throughout: it matches wherever one of them could
# (a superset), so text it finds nothing in is returned as it is. Most strings a log holds ("NSE", "SBIN",
# a path) are of that kind: one search instead of five substitutions (bench/analytics.py: the writer).
_ANY_SHAPE = re.compile("|".join(f"(?:{pattern.pattern.removeprefix('(?i)')})" for pattern, _ in _SHAPES),
                        re.IGNORECASE)
_TOKEN_SEGMENT = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-.=~]{24,}$")


_SECRET_PART = re.compile("|".join(_SECRET_PARTS))


@functools.lru_cache(maxsize=4096)  # the same few dozen field names come with every request
def is_secret_name(name: Any) -> bool:
    text = str(name).lower().replace("-", "").replace("_", "")
    return text in _SECRET_NAMES or _SECRET_PART.search(text) is not None


def scrub_text(text: str) -> str:
    """Replace secret-shaped text anywhere in `text`."""
    if not _ANY_SHAPE.search(text):
        return text
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any, depth: int = 0) -> Any:
    """A copy of a JSON-like value with secrets replaced by name, and secret-shaped strings scrubbed."""
    if depth > 20:
        return "[too deep]"
    if isinstance(value, dict):
        return {str(k): REDACTED if is_secret_name(k) and v not in (None, "") else redact(v, depth + 1)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item, depth + 1) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub_text(str(value))


def bound(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} more characters]"


def redact_query(query: str) -> str:
    """A query string (or form body) with secret parameters' values replaced."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return scrub_text(urlencode([(k, REDACTED if is_secret_name(k) else v) for k, v in pairs], safe="[]/:,"))


def redact_path(path: str) -> str:
    """A URL path with long random-looking segments (tokens, webhook secrets) and key shapes replaced."""
    segments = path.split("/")
    if any(_TOKEN_SEGMENT.match(s) for s in segments):
        segments = [REDACTED if _TOKEN_SEGMENT.match(s) else s for s in segments]
        path = "/".join(segments)
    return scrub_text(path)


def redact_body(body: bytes, content_type: str, limit: int) -> str:
    """A request or response body as stored: JSON and form bodies redacted by name and shape, other text
    by shape, binary and multipart bodies by their size only; then bounded to `limit` characters."""
    if not body:
        return ""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind.startswith("multipart/") or not (kind == "" or kind.endswith("json") or kind.startswith("text/")
                                             or kind == "application/x-www-form-urlencoded"):
        return f"[{len(body)} bytes of {kind or 'unknown type'}]"
    text = body.decode("utf-8", errors="replace")
    if kind == "application/x-www-form-urlencoded":
        return bound(redact_query(text), limit)
    try:
        data = json.loads(text)
    except ValueError:
        return bound(scrub_text(text), limit)
    return bound(json.dumps(redact(data), ensure_ascii=False, separators=(",", ":"), default=str), limit)
