"""Trading models, one module per area: the market calendar, and the books (orders, trades, positions)."""
from trading.models.archive import *  # noqa: F403
from trading.models.calendar import *  # noqa: F403
from trading.models.orders import *  # noqa: F403
