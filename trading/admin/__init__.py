"""Trading admin, one module per area; importing a module registers its models."""
from trading.admin import archive, calendar, orders  # noqa: F401
