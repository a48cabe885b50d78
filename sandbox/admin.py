"""Sandbox admin."""
