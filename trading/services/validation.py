"""The one parser of orders: a request's fields in, the one order type (brokers' OrderSpec) out, or
InvalidOrder naming the field, with one message per kind of bad input.

Every entry point parses here: /api/v1/ (placeorder and its smart, split and basket siblings, modify,
margin's legs), /api/orders/ (its own field names, through `names`), the action center (which replays
a stored payload), webhooks, and the sandbox (check_order(), for orders it is handed or builds). Plain
functions over mappings; numbers may arrive as strings ("10", "812.5") or JSON numbers. The instrument
master supplies the lot size and tick size; its look-up is cached by brokers.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation

from brokers.adapters.base import OrderSpec
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


def check_order(spec: OrderSpec, *, prefix: str = "", allow_zero_quantity: bool = False,
                lot_size: int | None = None, tick_size: Decimal | None = None) -> None:
    """The rules an order keeps whatever door it came in by; raises InvalidOrder naming the field.

    The lot and tick size are the spec's (the parser's look-up) unless given (the sandbox's own)."""
    _check_shape(spec, prefix, allow_zero_quantity)
    _check_sizes(spec, prefix, spec.lot_size if lot_size is None else lot_size,
                 spec.tick_size if tick_size is None else tick_size)


def _check_shape(spec: OrderSpec, f: str, allow_zero_quantity: bool) -> None:
    for name, value, allowed in (("exchange", spec.exchange, EXCHANGES), ("action", spec.action, ACTIONS),
                                 ("pricetype", spec.price_type, PRICE_TYPES), ("product", spec.product, PRODUCTS)):
        if value not in allowed:
            raise _fail(f"{f}{name}", f"must be one of {', '.join(allowed)} (got {value!r}).")
    quantity, exchange = spec.quantity, spec.exchange
    if exchange in INDEX_EXCHANGES:
        raise _fail(f"{f}exchange", f"{exchange} instruments are indices and cannot be traded.")
    if quantity < 0 or (quantity == 0 and not allow_zero_quantity):
        raise _fail(f"{f}quantity", "must be greater than 0.")
    if exchange != Exchange.CRYPTO and quantity != quantity.to_integral_value():
        raise _fail(f"{f}quantity", "must be a whole number.")
    if spec.disclosed_quantity > quantity:
        raise _fail(f"{f}disclosed_quantity", "must not exceed the quantity.")
    if spec.price_type in NEEDS_PRICE and spec.price <= 0:
        raise _fail(f"{f}price", f"is required (greater than 0) for {spec.price_type} orders.")
    if spec.price_type in NEEDS_TRIGGER and spec.trigger_price <= 0:
        raise _fail(f"{f}trigger_price", f"is required (greater than 0) for {spec.price_type} orders.")


def _check_sizes(spec: OrderSpec, f: str, lot_size: int, tick_size: Decimal) -> None:
    lot, tick = Decimal(lot_size), Decimal(tick_size)
    # CRYPTO trades fractions; the master's whole-number lot size applies to every other exchange.
    if spec.exchange != Exchange.CRYPTO and not _multiple(spec.quantity, lot):
        raise _fail(f"{f}quantity", f"must be a multiple of the lot size {lot} of {spec.symbol}.")
    for name, value in (("price", spec.price), ("trigger_price", spec.trigger_price)):
        if value > 0 and not _multiple(value, tick):
            raise _fail(f"{f}{name}", f"must be a multiple of the tick size {tick.normalize()} of {spec.symbol}.")


def parse_order(data: Mapping, *, prefix: str = "", allow_zero_quantity: bool = False,
                strategy: str | None = None, read_ahead: Mapping | None = None,
                names: Mapping[str, str] | None = None) -> OrderSpec:
    """Parse one order in OpenAlgo's fields, or an API's own through `names` (OpenAlgo's name -> the
    API's: {"pricetype": "price_type"} reads and names the field `price_type`). `prefix` names the field
    path ("orders[2]."); `read_ahead` holds cache entries already read (brokers.services.instruments.cache_keys)."""
    if not names:
        return _parse_order(data, prefix, allow_zero_quantity, strategy, read_ahead)
    try:
        if isinstance(data, Mapping):
            data = {k: v for k, v in data.items() if k not in names} | {
                canonical: data[own] for canonical, own in names.items() if own in data}
        return _parse_order(data, prefix, allow_zero_quantity, strategy, read_ahead)
    except InvalidOrder as exc:  # name the field as the caller's API does
        field, sep, problem = exc.message.partition(": ")
        path, dot, name = field.rpartition(".")
        if sep and name in names:
            raise InvalidOrder(f"{path}{dot}{names[name]}: {problem}") from None
        raise


def _parse_order(data: Mapping, f: str, allow_zero_quantity: bool, strategy: str | None,
                 read_ahead: Mapping | None) -> OrderSpec:
    if not isinstance(data, Mapping):
        raise InvalidOrder(f"{f.rstrip('.') or 'body'}: must be a JSON object.")
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
    spec = OrderSpec(
        exchange=exchange, symbol=symbol, action=action, quantity=quantity, price_type=price_type, product=product,
        price=price, trigger_price=trigger, disclosed_quantity=disclosed, strategy=strategy,
        client_order_id=client_order_id, account_name=account_name)
    _check_shape(spec, f, allow_zero_quantity)  # before the look-up: a bad shape costs no cache read
    instrument = _instrument(exchange, symbol, f, read_ahead)
    spec = replace(spec, lot_size=int(instrument.lot_size or 1), tick_size=Decimal(instrument.tick_size or 0))
    _check_sizes(spec, f, spec.lot_size, spec.tick_size)
    return spec


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


def parse_modify(data: Mapping) -> OrderSpec:
    """modifyorder: every field is required, as in OpenAlgo; the spec carries the order's id."""
    for field in ("exchange", "symbol", "action", "product", "pricetype", "price", "quantity",
                  "disclosed_quantity", "trigger_price"):
        if data.get(field) is None or data.get(field) == "":
            raise _fail(field, "this field is required.")
    return replace(parse_order(data), order_id=order_id(data))
