"""Trading admin, one module per area; importing a module registers its models."""
from trading.admin import calendar  # noqa: F401
from trading.admin import orders  # noqa: F401
