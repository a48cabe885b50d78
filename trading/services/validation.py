"""Validation of order requests: OpenAlgo's fields in, typed OrderSpec out, or InvalidOrder naming the field.

Plain functions over dicts, so the API, webhooks, strategies and the action center (which replays
a stored payload) validate alike. Numbers may arrive as strings ("10", "812.5"). The instrument
master supplies the lot size and tick size; its look-up is cached by brokers.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from brokers.adapters.base import ModifyRequest, OrderRequest
from brokers.models import Exchange
from brokers.services.instruments import get_instrument
from trading.models import Action, PriceType, Product
from trading.services.errors import InvalidOrder

ZERO = Decimal("0")
MAX_QUANTITY = Decimal("1000000000")  # far above any exchange's freeze limit; keeps the column in range
# Read once: TextChoices.values builds a new list on every access, and these are checked on every order.
EXCHANGES, ACTIONS = tuple(Exchange.values), tuple(Action.values)
PRICE_TYPES, PRODUCTS = tuple(PriceType.values), tuple(Product.values)
MAX_PRICE = Decimal("100000000")
MAX_SPLIT_CHILDREN = 100
MAX_BASKET_LEGS = 100
#: Exchanges whose instruments are quoted, never traded.
INDEX_EXCHANGES = frozenset({Exchange.NSE_INDEX, Exchange.BSE_INDEX, Exchange.MCX_INDEX})
NEEDS_PRICE = frozenset({PriceType.LIMIT, PriceType.SL})
NEEDS_TRIGGER = frozenset({PriceType.SL, PriceType.SL_M})


@dataclass(frozen=True)
class OrderSpec:
    """A validated order, before risk checks and routing."""

    exchange: str
    symbol: str
    action: str
    quantity: Decimal
    price_type: str = PriceType.MARKET
    product: str = Product.MIS
    price: Decimal = ZERO
    trigger_price: Decimal = ZERO
    disclosed_quantity: Decimal = ZERO
    strategy: str = ""
    client_order_id: str | None = None
    account_name: str | None = None
    lot_size: int = 1
    tick_size: Decimal = Decimal("0.01")

    def request(self) -> OrderRequest:
        return OrderRequest(
            exchange=self.exchange, symbol=self.symbol, action=self.action, quantity=self.quantity,
            price_type=self.price_type, product=self.product, price=self.price, trigger_price=self.trigger_price,
            disclosed_quantity=self.disclosed_quantity, strategy=self.strategy,
            client_order_id=self.client_order_id or "",
        )

    def with_quantity(self, quantity: Decimal, action: str | None = None, *, keep_id: bool = False) -> OrderSpec:
        """The same order for another quantity (split children, smart deltas); the idempotency key is
        kept only when the new order stands for the request itself."""
        return replace(self, quantity=quantity, action=action or self.action,
                       disclosed_quantity=min(self.disclosed_quantity, quantity),
                       client_order_id=self.client_order_id if keep_id else None)

    def payload(self) -> dict[str, Any]:
        """OpenAlgo's field names, as JSON (for the action center and events)."""
        data = {"exchange": self.exchange, "symbol": self.symbol, "action": self.action,
                "quantity": str(self.quantity), "pricetype": self.price_type, "product": self.product,
                "price": str(self.price), "trigger_price": str(self.trigger_price),
                "disclosed_quantity": str(self.disclosed_quantity), "strategy": self.strategy}
        if self.client_order_id:
            data["client_order_id"] = self.client_order_id
        if self.account_name:
            data["account"] = self.account_name
        return data


# --- Field parsers: each raises InvalidOrder("<field>: <problem>") ------------------------------------
def _fail(field: str, problem: str) -> InvalidOrder:
    return InvalidOrder(f"{field}: {problem}")


def text(data: Mapping, field: str, *, required: bool = True, default: str = "", max_length: int = 64) -> str:
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _fail(field, "this field is required.")
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _fail(field, "must be a string.")
    value = str(value).strip()
    if len(value) > max_length:
        raise _fail(field, f"must be at most {max_length} characters.")
    return value


def choice(data: Mapping, field: str, allowed: Sequence[str], *, default: str | None = None) -> str:
    value = text(data, field, required=default is None, default=default or "", max_length=32).upper()
    if value not in allowed:
        raise _fail(field, f"must be one of {', '.join(allowed)} (got {value!r}).")
    return value


def number(data: Mapping, field: str, *, required: bool = True, default: Decimal = ZERO,
           maximum: Decimal = MAX_QUANTITY, signed: bool = False) -> Decimal:
    value = data.get(field)
    if value is None or value == "":
        if required:
            raise _fail(field, "this field is required.")
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _fail(field, "must be a number.")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise _fail(field, f"must be a number (got {str(value)[:20]!r}).") from None
    if not result.is_finite():
        raise _fail(field, "must be a finite number.")
    if not signed and result < 0:
        raise _fail(field, "must not be negative.")
    if abs(result) > maximum:
        raise _fail(field, f"must be at most {maximum}.")
    if result != result.quantize(Decimal("0.000001")):
        raise _fail(field, "has too many decimal places (at most 6).")
    # Canonical form: "10.0" -> 10, "812.50" -> 812.5 (never an exponent: at most 6 places, bounded).
    return Decimal(int(result)) if result == result.to_integral_value() else result.normalize()


def integer(data: Mapping, field: str, *, required: bool = True, default: int = 0, minimum: int = 0,
            maximum: int = 1_000_000_000) -> int:
    value = number(data, field, required=required, default=Decimal(default), maximum=Decimal(maximum))
    if value != value.to_integral_value():
        raise _fail(field, "must be a whole number.")
    if value < minimum:
        raise _fail(field, f"must be at least {minimum}.")
    return int(value)


def order_id(data: Mapping, field: str = "orderid") -> str:
    return text(data, field, max_length=64)


# --- Orders ------------------------------------------------------------------------------------------
def _instrument(exchange: str, symbol: str, prefix: str, read_ahead: Mapping | None = None):
    instrument = get_instrument(exchange, symbol, read_ahead=read_ahead)
    if instrument is None:
        raise _fail(f"{prefix}symbol", f"{symbol!r} is not a known {exchange} instrument.")
    return instrument


def _multiple(value: Decimal, step: Decimal) -> bool:
    return step <= 0 or value % step == 0


def parse_order(data: Mapping, *, prefix: str = "", allow_zero_quantity: bool = False,
                strategy: str | None = None, read_ahead: Mapping | None = None) -> OrderSpec:
    """Validate one order in OpenAlgo's fields. `prefix` names the field path ("orders[2].");
    `read_ahead` holds cache entries already read (brokers.services.instruments.cache_keys)."""
    if not isinstance(data, Mapping):
        raise InvalidOrder(f"{prefix.rstrip('.') or 'body'}: must be a JSON object.")
    f = prefix
    if strategy is None:
        strategy = text(data, "strategy", max_length=100)
    exchange = _call(choice, data, f, "exchange", EXCHANGES)
    symbol = _call(text, data, f, "symbol").upper()
    action = _call(choice, data, f, "action", ACTIONS)
    price_type = _call(choice, data, f, "pricetype", PRICE_TYPES, default=PriceType.MARKET)
    product = _call(choice, data, f, "product", PRODUCTS, default=Product.MIS)
    quantity = _call(number, data, f, "quantity")
    price = _call(number, data, f, "price", required=False, maximum=MAX_PRICE)
    trigger = _call(number, data, f, "trigger_price", required=False, maximum=MAX_PRICE)
    disclosed = _call(number, data, f, "disclosed_quantity", required=False)
    client_order_id = _call(text, data, f, "client_order_id", required=False, max_length=64) or None
    account_name = _call(text, data, f, "account", required=False, max_length=64) or None

    if exchange in INDEX_EXCHANGES:
        raise _fail(f"{f}exchange", f"{exchange} instruments are indices and cannot be traded.")
    if quantity == 0 and not allow_zero_quantity:
        raise _fail(f"{f}quantity", "must be greater than 0.")
    if exchange != Exchange.CRYPTO and quantity != quantity.to_integral_value():
        raise _fail(f"{f}quantity", "must be a whole number.")
    if disclosed > quantity:
        raise _fail(f"{f}disclosed_quantity", "must not exceed the quantity.")
    if price_type in NEEDS_PRICE and price <= 0:
        raise _fail(f"{f}price", f"is required (greater than 0) for {price_type} orders.")
    if price_type in NEEDS_TRIGGER and trigger <= 0:
        raise _fail(f"{f}trigger_price", f"is required (greater than 0) for {price_type} orders.")

    instrument = _instrument(exchange, symbol, f, read_ahead)
    lot, tick = int(instrument.lot_size or 1), Decimal(instrument.tick_size or 0)
    # CRYPTO trades fractions; the master's whole-number lot size applies to every other exchange.
    if exchange != Exchange.CRYPTO and not _multiple(quantity, Decimal(lot)):
        raise _fail(f"{f}quantity", f"must be a multiple of the lot size {lot} of {symbol}.")
    for name, value in (("price", price), ("trigger_price", trigger)):
        if value > 0 and not _multiple(value, tick):
            raise _fail(f"{f}{name}", f"must be a multiple of the tick size {tick.normalize()} of {symbol}.")
    return OrderSpec(
        exchange=exchange, symbol=symbol, action=action, quantity=quantity, price_type=price_type, product=product,
        price=price, trigger_price=trigger, disclosed_quantity=disclosed, strategy=strategy,
        client_order_id=client_order_id, account_name=account_name, lot_size=lot, tick_size=tick,
    )


def _call(parser, data: Mapping, prefix: str, field: str, *args, **kwargs):
    """Run a field parser and put the path prefix in its message ("orders[1].quantity: ...")."""
    try:
        return parser(data, field, *args, **kwargs)
    except InvalidOrder as exc:
        if not prefix:
            raise
        raise InvalidOrder(prefix + exc.message) from None


def parse_smart_order(data: Mapping) -> tuple[OrderSpec, Decimal]:
    """placesmartorder: the order fields (quantity may be 0) and position_size, the target net position."""
    spec = parse_order(data, allow_zero_quantity=True)
    target = number(data, "position_size", signed=True)
    if spec.exchange != Exchange.CRYPTO and target != target.to_integral_value():
        raise _fail("position_size", "must be a whole number.")
    if spec.exchange != Exchange.CRYPTO and not _multiple(abs(target), Decimal(spec.lot_size)):
        raise _fail("position_size", f"must be a multiple of the lot size {spec.lot_size} of {spec.symbol}.")
    return spec, target


def parse_split_order(data: Mapping) -> tuple[OrderSpec, Decimal]:
    """splitorder: the order and splitsize; at most MAX_SPLIT_CHILDREN child orders."""
    spec = parse_order(data)
    size = number(data, "splitsize")
    if size <= 0:
        raise _fail("splitsize", "must be greater than 0.")
    if spec.exchange != Exchange.CRYPTO and size != size.to_integral_value():
        raise _fail("splitsize", "must be a whole number.")
    if spec.exchange != Exchange.CRYPTO and not _multiple(size, Decimal(spec.lot_size)):
        raise _fail("splitsize", f"must be a multiple of the lot size {spec.lot_size} of {spec.symbol}.")
    children = -(-spec.quantity // size)
    if children > MAX_SPLIT_CHILDREN:
        raise _fail("splitsize", f"would make {children} orders; at most {MAX_SPLIT_CHILDREN} are allowed.")
    return spec, size


def parse_basket(data: Mapping) -> list[OrderSpec]:
    """basketorder: strategy and a list of orders, each validated with its index in the field path."""
    strategy = text(data, "strategy", max_length=100)
    orders = data.get("orders")
    if not isinstance(orders, list) or not orders:
        raise _fail("orders", "must be a non-empty list of orders.")
    if len(orders) > MAX_BASKET_LEGS:
        raise _fail("orders", f"at most {MAX_BASKET_LEGS} orders in one basket.")
    account_name = text(data, "account", required=False) or None
    specs = []
    for index, leg in enumerate(orders):
        spec = parse_order(leg, prefix=f"orders[{index}].", strategy=strategy)
        specs.append(replace(spec, account_name=spec.account_name or account_name))
    return specs


def parse_modify(data: Mapping) -> ModifyRequest:
    """modifyorder: every field is required, as in OpenAlgo."""
    for field in ("exchange", "symbol", "action", "product", "pricetype", "price", "quantity",
                  "disclosed_quantity", "trigger_price"):
        if data.get(field) is None or data.get(field) == "":
            raise _fail(field, "this field is required.")
    spec = parse_order(data)
    return ModifyRequest(
        order_id=order_id(data), exchange=spec.exchange, symbol=spec.symbol, action=spec.action,
        quantity=spec.quantity, price_type=spec.price_type, product=spec.product, price=spec.price,
        trigger_price=spec.trigger_price, disclosed_quantity=spec.disclosed_quantity, strategy=spec.strategy,
    )


def spec_from_payload(payload: Mapping) -> OrderSpec:
    """Rebuild a stored OrderSpec (action center) by validating it again: the instrument may have changed."""
    return parse_order(payload)


def spec_dict(spec: OrderSpec) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(spec).items()}
