"""Margin = quantity × price / leverage, the leverage chosen by product and segment.

Only the part of an order that opens (or extends) a position needs margin: the part that reduces
an existing position blocks nothing, and a reversal blocks only the excess beyond flat.
"""
from __future__ import annotations

from decimal import Decimal

from sandbox.models import Action, Product, SandboxConfig
from sandbox.services.instruments import InstrumentSpec
from sandbox.services.money import ZERO, paisa


def leverage(config: SandboxConfig, spec: InstrumentSpec, product: str, action: str) -> Decimal:
    if spec.is_option:
        return config.option_buy_leverage if action == Action.BUY else config.option_sell_leverage
    if spec.is_future:
        return config.futures_leverage
    if product == Product.MIS:
        return config.equity_mis_leverage
    return config.equity_cnc_leverage  # CNC, and NRML on a cash-segment instrument: paid in full


def opening_quantity(position_qty: Decimal, action: str, quantity: Decimal) -> Decimal:
    """How much of an order opens new exposure given the current net position."""
    signed = quantity if action == Action.BUY else -quantity
    if position_qty == 0 or (position_qty > 0) == (signed > 0):
        return quantity
    return max(quantity - abs(position_qty), ZERO)


def margin(quantity: Decimal, price: Decimal, lev: Decimal) -> Decimal:
    if quantity <= 0 or price <= 0:
        return ZERO
    return paisa(quantity * price / lev)


def required(config: SandboxConfig, spec: InstrumentSpec, product: str, action: str, position_qty: Decimal,
             quantity: Decimal, price: Decimal) -> Decimal:
    """Margin an order of `quantity` at `price` needs against a position of `position_qty`."""
    return margin(opening_quantity(position_qty, action, quantity), price,
                  leverage(config, spec, product, action))
