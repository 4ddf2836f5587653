"""The browser fixture of the web tests, for the automation browser test."""

from ..web.conftest import browser  # noqa: F401
