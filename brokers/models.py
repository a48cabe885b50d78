"""Brokers models."""
