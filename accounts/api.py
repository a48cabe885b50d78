"""`GET|POST /api/me/`: who the API key (or session) belongs to, and the key's order mode."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Capability, OrderMode
from accounts.services.apikeys import VerifiedKey


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    key_mode = serializers.ChoiceField(choices=OrderMode.choices, allow_null=True,
                                       help_text="The order mode of the API key used; null for a session.")


class MeView(APIView):
    capability = Capability.READ  # POST too: clients that send the key in the body

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        key = request.auth if isinstance(request.auth, VerifiedKey) else None
        return Response(MeSerializer({"username": request.user.get_username(),
                                      "key_mode": key.order_mode if key else None}).data)

    @extend_schema(request=None, responses=MeSerializer,
                   description="The same, for clients that send the key in a JSON body as `apikey`.")
    def post(self, request: Request) -> Response:
        return self.get(request)
