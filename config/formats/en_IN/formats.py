"""Number formats for LANGUAGE_CODE "en-in" (Django ships none; it would fall back to English grouping).

Indian grouping (1,00,00,000.00): the last three digits, then pairs. Everything else is Django's "en".
"""
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = (3, 2, 0)
