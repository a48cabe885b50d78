"""Accounts admin."""
