"""`GET|POST /api/me/`: who the API key (or session) belongs to, and the key's order mode."""
from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services.apikeys import VerifiedKey


class MeView(APIView):
    def get(self, request: Request) -> Response:
        key = request.auth if isinstance(request.auth, VerifiedKey) else None
        return Response({"username": request.user.get_username(), "key_mode": key.order_mode if key else None})

    post = get  # the OpenAlgo style sends the key in a JSON body
