"""Analytics admin."""
