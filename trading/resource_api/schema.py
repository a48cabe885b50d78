"""drf-spectacular glue: how API-key authentication appears in the schema, and which paths it covers.

The schema documents AlgoDesk's resource API (/api/). The OpenAlgo-compatible API (/api/v1/) is
OpenAlgo's contract, documented by OpenAlgo and docs/openalgo-api.md; its views are plain POST
handlers with OpenAlgo's own shapes, so they are left out of the schema.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

OPENALGO_PREFIX = "/api/v1/"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-API-KEY",
                "description": "An AlgoDesk API key (also accepted as `Authorization: Api-Key <key>`)."}


def exclude_openalgo_api(endpoints: list[tuple], **kwargs: Any) -> list[tuple]:
    """SPECTACULAR_SETTINGS["PREPROCESSING_HOOKS"]: drop the /api/v1/ endpoints."""
    return [endpoint for endpoint in endpoints if not endpoint[0].startswith(OPENALGO_PREFIX)]
