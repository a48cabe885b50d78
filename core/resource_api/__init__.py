"""The base of AlgoDesk's resource API (/api/): per-user scoping, pagination, filters every app's
viewsets share, and domain errors mapped to HTTP by their kind. Each app keeps its own viewsets
(brokers/resource_api for trading accounts and instruments, trading/resource_api for the books);
trading/resource_api/urls.py routes them all."""
