"""Broker adapters by name. The dotted paths come from settings.BROKER_ADAPTERS, so `brokers` never
imports `sandbox` (which is itself a broker) and adding a broker is adding one module and one line."""
from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from brokers.adapters.base import AdapterContext, BrokerAdapter


class UnknownBroker(LookupError):
    pass


def broker_names() -> list[str]:
    return sorted(settings.BROKER_ADAPTERS)


@cache
def _adapter_class(dotted: str) -> type[BrokerAdapter]:
    return import_string(dotted)


def adapter_class(name: str) -> type[BrokerAdapter]:
    try:
        return _adapter_class(settings.BROKER_ADAPTERS[name])
    except KeyError:
        raise UnknownBroker(f"No broker adapter named {name!r}; known: {', '.join(broker_names())}.") from None


def get_adapter(name: str, context: AdapterContext) -> BrokerAdapter:
    return adapter_class(name)(context)


def runs_in_database(name: str) -> bool:
    """True for a broker that lives in this database (the sandbox); False for an unknown one."""
    try:
        return adapter_class(name).runs_in_database
    except (UnknownBroker, ImportError):
        return False
