"""AlgoDesk's own resource API (/api/): DRF viewsets scoped to the requesting user, with an OpenAPI 3 schema."""
