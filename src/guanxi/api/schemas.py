"""Base schemas shared by every app's router."""

from ninja import Schema
from pydantic import ConfigDict


class InputSchema(Schema):
    """Request bodies refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")
