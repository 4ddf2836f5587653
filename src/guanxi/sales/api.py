"""Sales endpoints: pipelines and stages, deals, reports."""

from ninja import Router

router = Router(tags=["sales"])
