"""Sandbox business logic, one module per area. Views, the adapter, admin actions and tasks call these."""
