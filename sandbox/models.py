"""Sandbox models."""
