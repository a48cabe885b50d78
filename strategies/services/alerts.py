"""What a trader pastes into their charting platform: the webhook URL and, for TradingView, the alert
message (JSON with TradingView's placeholders), as the strategy's trading mode reads it."""
from __future__ import annotations

import json

from strategies.models import Platform, Strategy, TradingMode

SECRET_PLACEHOLDER = "YOUR_WEBHOOK_SECRET"


def webhook_path(strategy: Strategy) -> str:
    """OpenAlgo's paths: ChartInk's scanner posts its own body to /chartink/, everyone else to /strategy/."""
    kind = "chartink" if strategy.platform == Platform.CHARTINK else "strategy"
    return f"/{kind}/webhook/{strategy.webhook_id}"


def tradingview_alert(strategy: Strategy) -> str:
    """The alert message body: symbol and action always; BOTH moves to TradingView's position size.
    With a secret, a `token` field carries it (TradingView cannot set a signature header)."""
    body = {"symbol": "{{ticker}}", "action": "{{strategy.order.action}}"}
    if strategy.trading_mode == TradingMode.BOTH:
        body["position_size"] = "{{strategy.position_size}}"
    if strategy.webhook_secret:
        body["token"] = SECRET_PLACEHOLDER
    return json.dumps(body, indent=2)
