"""The market calendar: trading-hours templates, sessions and exchange holidays."""
