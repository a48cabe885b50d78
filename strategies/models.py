"""Strategies models."""
