"""/api/analytics/: a user's own analytics figures (operators see everyone's)."""
