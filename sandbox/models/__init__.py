"""Sandbox models, one module per area: configuration, funds and ledger, books, prices."""
from sandbox.models.books import *  # noqa: F403
from sandbox.models.config import *  # noqa: F403
from sandbox.models.funds import *  # noqa: F403
from sandbox.models.prices import *  # noqa: F403
