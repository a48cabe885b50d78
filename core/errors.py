"""The kinds of domain error, shared by every app: what went wrong, never an HTTP status.

A service raises a DomainError (or an error with a `kind`, as brokers' BrokerError has); each API maps
the kind to its answer once, at its edge (core.resource_api for /api/, trading.openalgo_api.base for
/api/v1/). The admin and the action center show `.message`.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    INVALID = "invalid"  # bad input: the message names the field
    REFUSED = "refused"  # the risk limits or the calendar said no (recorded as REJECTED)
    REJECTED = "rejected"  # the broker understood the request and refused it
    NOT_FOUND = "not_found"  # no such order (of this user)
    CONFLICT = "conflict"  # the request collides with one in progress or a record (a repeat still in flight)
    FORBIDDEN = "forbidden"  # the credential may not do this (a semi-auto key)
    UNAVAILABLE = "unavailable"  # the broker could not be reached or answered with a fault
    NOT_SUPPORTED = "not_supported"  # the broker does not offer the operation


class DomainError(Exception):
    """An error a client caused or should see: a message (naming the field for bad input) and a kind."""

    kind: ErrorKind = ErrorKind.INVALID

    def __init__(self, message: str, kind: ErrorKind | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message, self.extra = message, extra
        if kind is not None:
            self.kind = kind
