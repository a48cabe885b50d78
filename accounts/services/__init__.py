"""Business logic of the accounts app, as plain functions."""
