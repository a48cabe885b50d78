"""Business logic of the brokers app, as plain functions (views, admin actions, tasks call these)."""
