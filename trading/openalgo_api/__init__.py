"""The OpenAlgo-compatible API (/api/v1/): same paths, fields, shapes and error format as OpenAlgo."""
