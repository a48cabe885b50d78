"""Template filters for numbers as people read them: `{{ value|money }}`, `|quantity`, `|price` (core.numbers)."""
from django import template

from core import numbers

register = template.Library()
register.filter("money", numbers.money)
register.filter("quantity", numbers.quantity)
register.filter("price", numbers.price)
