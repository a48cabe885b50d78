"""The books: orders, trades, positions and their history, holdings, order events, pending orders."""
