"""Request types for signed-in views and API handlers, so type checkers know `request.user` is a User."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from .models import User


class AuthedRequest(HttpRequest):
    user: User
    htmx: HtmxDetails
