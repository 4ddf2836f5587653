"""One error shape for every API failure: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

log = logging.getLogger(__name__)

# Pydantic error types worth a message of our own; others fall back to pydantic's text.
_PYDANTIC_MESSAGES = {
    "extra_forbidden": lambda: _("Unknown field."),
    "missing": lambda: _("This field is required."),
}
_LOCATION_WORDS = {"body", "query", "path", "header", "cookie", "form", "file", "payload", "data", "filters"}


class ApiError(Exception):
    """An API failure with a status, a stable code and a translated message."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if str(p) not in _LOCATION_WORDS]
    return ".".join(parts) or "__all__"


def pydantic_fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for err in errors:
        message = _PYDANTIC_MESSAGES.get(err.get("type", ""), lambda e=err: str(e.get("msg", "")))()
        fields.setdefault(_field_name(err.get("loc", ())), []).append(message)
    return fields


def django_fields(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def install_error_handlers(api: NinjaAPI) -> None:
    """Map every failure the API can meet onto the one error shape and the right status."""

    def respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
        return api.create_response(request, body, status=status)

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return respond(request, exc.status, error_body(exc.code, exc.message, exc.fields))

    @api.exception_handler(NinjaValidationError)
    def ninja_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        body = error_body("validation_error", _("Some fields are not valid."), pydantic_fields(exc.errors))
        return respond(request, 422, body)

    @api.exception_handler(DjangoValidationError)
    def django_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        body = error_body("validation_error", _("Some fields are not valid."), django_fields(exc))
        return respond(request, 422, body)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        message = _("Sign in, or send a valid API token as “Authorization: Bearer …”.")
        return respond(request, 401, error_body("not_authenticated", message))

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        return respond(request, 429, error_body("rate_limited", _("Too many requests; slow down and retry later.")))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:
            return respond(request, 400, error_body("bad_request", _("The request body is not valid JSON.")))
        if exc.status_code == 403:  # Ninja's session auth refuses a write without a valid CSRF token
            message = _("The CSRF token is missing or wrong; reload the page and try again.")
            return respond(request, 403, error_body("csrf_failed", message))
        return respond(request, exc.status_code, error_body("http_error", str(exc)))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return respond(request, 404, error_body("not_found", _("Not found.")))

    api.add_exception_handler(ObjectDoesNotExist, not_found)

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return respond(request, 403, error_body("permission_denied", _("You do not have permission to do this.")))

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return respond(request, 413, error_body("too_large", _("The request is too large.")))

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("API error on %s %s", request.method, request.path)
        return respond(request, 500, error_body("server_error", _("Something went wrong on our side.")))
