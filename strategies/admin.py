"""Strategies admin."""
