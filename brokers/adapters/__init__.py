"""Broker adapters: one module per broker behind the interface in base.py, found by name in registry.py."""
