"""Market data services: the tick upsert, history reads and CSV import/export."""
