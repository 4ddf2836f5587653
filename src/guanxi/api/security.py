"""API authentication (browser session or bearer token) and per-token rate limiting."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, SessionAuth
from ninja.throttling import SimpleRateThrottle

from guanxi.core.services import token_authenticate

from .errors import ApiError

_TOKEN_REFUSALS = {
    "invalid": lambda: _("This API token is not valid."),
    "revoked": lambda: _("This API token has been revoked."),
    "expired": lambda: _("This API token has expired."),
}


class BearerTokenAuth(HttpBearer):
    """`Authorization: Bearer gx_…`: the token's user, with that user's permissions and scope."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token, refusal = token_authenticate(token)
        if api_token is None:
            raise ApiError(401, f"token_{refusal}", _TOKEN_REFUSALS[refusal]())
        request.user = api_token.user
        if api_token.user.language:  # the session middleware ran before we knew who this is
            translation.activate(api_token.user.language)
        return api_token


class ActiveSessionAuth(SessionAuth):
    """The browser's session (CSRF-checked by Ninja); inactive users are refused."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


class PerTokenThrottle(SimpleRateThrottle):
    """A sliding one-minute window per API token (or per user for the browser session)."""

    scope = "api"

    def __init__(self) -> None:
        super().__init__(rate="1/m")

    def allow_request(self, request: HttpRequest) -> bool:
        self.num_requests, self.duration = settings.API_RATE_LIMIT_PER_MINUTE, 60
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        auth = getattr(request, "auth", None)
        if auth is None:
            return None
        ident = f"token-{auth.prefix}" if hasattr(auth, "prefix") else f"user-{auth.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
