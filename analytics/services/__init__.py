"""Analytics services: read-only figures computed from the other apps' tables."""
