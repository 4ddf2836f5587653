"""Every list in the API is paged the same way: ?page=&page_size=, answered with items/count/page/pages."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PaginationBase

from guanxi.core.selectors import COUNT_CAP, CappedRows


class PageNumbers(PaginationBase):
    class Input(Schema):
        page: int = Field(1, ge=1)
        page_size: int = Field(50, ge=1, le=200)

    class Output(Schema):
        items: list[Any]
        count: int
        page: int
        pages: int

    def __init__(self, *, on_page: Callable[[HttpRequest, list[Any]], None] | None = None, **kwargs: Any) -> None:
        """`on_page` sees the rows of each page served, e.g. to log who saw which personal data."""
        self.on_page = on_page
        super().__init__(**kwargs)

    def paginate_queryset(self, queryset: QuerySet, pagination: Input, request: HttpRequest, **params: Any) -> Any:
        size = min(pagination.page_size, settings.API_PAGE_SIZE_MAX)
        count = self._items_count(queryset)
        start = (pagination.page - 1) * size
        items = list(queryset[start : start + size])
        if self.on_page:
            self.on_page(request, items)
        return {
            "items": items,
            "count": count,
            "page": pagination.page,
            "pages": max(1, math.ceil(count / size)),
        }


class CappedPageNumbers(PageNumbers):
    """Pages whose `count` stops at 10,000: `count_capped` is true when more rows match than were counted."""

    class Output(PageNumbers.Output):
        count_capped: bool = Field(
            False, description=f"True when more than `count` ({COUNT_CAP:,}) rows match; narrow the list."
        )

    def paginate_queryset(self, queryset: Any, pagination: Any, request: Any, **params: Any) -> Any:
        rows = CappedRows(queryset)
        page = super().paginate_queryset(rows, pagination, request, **params)  # type: ignore[arg-type]  # pages alike
        return {**page, "count_capped": rows.capped}
