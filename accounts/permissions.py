"""What a credential may do, checked beside the user for every API request (/api/ and /api/v1/).

A request carries a person's session or an API key. Each view action needs one Capability: a view
declares it (`capability`, or `action_capabilities` per viewset action); one that declares nothing
needs READ for a safe method and MANAGE for any other, so a view that forgets asks for the most an
ordinary key holds. A key holds what its mode gives it (accounts.models.KEY_CAPABILITIES). DECIDE,
approving or rejecting a queued order, is a person's act: no key ever holds it, and a session holds
it only once verified by a second factor. A session changes anything else only once verified too,
unless REQUIRE_SECOND_FACTOR is off (demos), as on the self-service pages.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework import permissions

from accounts.models import Capability, OrderMode
from accounts.services.apikeys import VerifiedKey

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views is still loading
    from rest_framework.request import Request
    from rest_framework.views import APIView

SEMI_AUTO_FORBIDDEN = "This operation is not allowed for a semi-auto API key; use the Action Center."
READ_ONLY_FORBIDDEN = "This operation is not allowed for a read-only API key."
DECIDE_FORBIDDEN = ("Approving or rejecting a pending order is a person's decision: an API key never may. "
                    "Sign in with your second factor and use the action center page (/action-center/).")
UNVERIFIED_FORBIDDEN = "Approving or rejecting a pending order needs a session verified by a second factor."
SESSION_UNVERIFIED = ("This change needs a session verified by a second factor: enroll one at "
                      "/accounts/2fa/setup/ (or use an API key).")


def required_capability(request: Request, view: APIView) -> str:
    """The capability this request needs: declared by the view, else by the HTTP method."""
    action = getattr(view, "action", None)
    declared = getattr(view, "action_capabilities", {}).get(action) or getattr(view, "capability", None)
    if declared:
        return declared
    return Capability.READ if request.method in permissions.SAFE_METHODS else Capability.MANAGE


def session_is_verified(request: Request) -> bool:
    # django-otp's middleware gives a session's user is_verified(); a key's user has none.
    is_verified = getattr(request.user, "is_verified", None)
    return callable(is_verified) and bool(is_verified())


class CredentialPermission(permissions.BasePermission):
    """The request's credential holds the capability its view action needs."""

    message = DECIDE_FORBIDDEN

    def has_permission(self, request: Request, view: APIView) -> bool:
        needed = required_capability(request, view)
        key = request.auth if isinstance(request.auth, VerifiedKey) else None
        if key is None:  # a person's session (anonymous requests are IsAuthenticated's to refuse)
            if needed == Capability.READ or session_is_verified(request):
                return True
            if needed == Capability.DECIDE:
                self.message = UNVERIFIED_FORBIDDEN
                return False
            # As on the self-service pages: changes need a second factor unless demos relax it.
            self.message = SESSION_UNVERIFIED
            return not settings.REQUIRE_SECOND_FACTOR
        if needed in key.capabilities:
            return True
        if needed != Capability.DECIDE:
            self.message = {OrderMode.SEMI_AUTO: SEMI_AUTO_FORBIDDEN}.get(key.order_mode, READ_ONLY_FORBIDDEN)
        return False
