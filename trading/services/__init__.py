"""The order pipeline and the books, as plain functions: validate -> risk -> route -> record."""
