"""Keeps the one error shape for API failures that happen outside Ninja's handlers (unknown path, wrong method)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from .errors import error_body

API_PREFIX = "/api/v1/"


class ApiErrorShapeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or "json" in response.get("Content-Type", ""):
            return response
        if response.status_code == 404:
            return JsonResponse(error_body("not_found", _("Not found.")), status=404)
        if response.status_code == 405:
            shaped = JsonResponse(error_body("method_not_allowed", _("This method is not allowed here.")), status=405)
            if "Allow" in response:
                shaped["Allow"] = response["Allow"]
            return shaped
        return response
