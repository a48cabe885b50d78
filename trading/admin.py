"""Trading admin."""
