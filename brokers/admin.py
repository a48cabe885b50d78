"""Brokers admin."""
