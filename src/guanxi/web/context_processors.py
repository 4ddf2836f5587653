"""What every page's shell needs: the menus, the unread count, the languages."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from guanxi.core.navigation import menu_for, nav_for
from guanxi.core.selectors import unread_count


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"shell_languages": settings.LANGUAGES}
    return {
        "shell_languages": settings.LANGUAGES,
        "shell_nav": menu_for(user),
        "shell_admin_nav": nav_for(user, "admin"),
        "shell_unread": unread_count(user),
    }
