"""Signals other apps listen to (apps to the right of trading: the real-time feed pushes order updates)."""
from django.dispatch import Signal

#: Sent with `orders` (trading.Order instances, their new state in memory) whenever orders are recorded or
#: change state, inside the writer's transaction: a receiver that reaches outside waits for the commit
#: (transaction.on_commit). Sent by trading.services.records.announce(), sandbox.services.tradebook.write().
orders_changed = Signal()
