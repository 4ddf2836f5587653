"""A quote as a PDF in the quote's language (zh-Hans or English).

reportlab draws it with its built-in CID font STSong-Light (Adobe's Song typeface for simplified Chinese,
which PDF readers carry), so Chinese renders with no font file on the server and nothing downloaded.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from django.utils import formats, translation
from django.utils.translation import gettext as _

FONT = "STSong-Light"


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _amount(value: Any) -> str:
    return formats.number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)


def quote_pdf(quote: Any, *, lines: list[Any], seller: str = "Guanxi") -> bytes:
    """The PDF bytes of a quote (its lines passed in, already read)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    with translation.override(quote.language):
        title_style = ParagraphStyle("title", fontName=font, fontSize=18, leading=24, wordWrap="CJK")
        body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
        small = ParagraphStyle("small", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
        customer = " · ".join(str(r) for r in (quote.account, quote.contact) if r is not None)
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=16 * mm,
            rightMargin=16 * mm,
            topMargin=16 * mm,
            bottomMargin=16 * mm,
            title=_("Quote %(number)s") % {"number": quote.number},
            author=seller,
            subject=customer,
        )
        story: list[Any] = [
            Paragraph(escape(_("Quote %(number)s") % {"number": quote.number}), title_style),
            Spacer(1, 4 * mm),
            Paragraph(escape(_("Customer: %(name)s") % {"name": customer}), body),
            Paragraph(_("Date: %(date)s") % {"date": formats.date_format(quote.created_at, "DATE_FORMAT")}, body),
        ]
        if quote.valid_until:
            story.append(Paragraph(_("Valid until: %(date)s") % {"date": formats.date_format(quote.valid_until)}, body))
        story.append(Paragraph(_("Currency: %(code)s") % {"code": quote.currency.code}, body))
        story.append(Spacer(1, 6 * mm))
        header = [_("#"), _("Product"), _("Quantity"), _("Unit price"), _("Discount"), _("Tax rate"), _("Net")]
        rows: list[list[Any]] = [[Paragraph(h, small) for h in header]]
        for index, line in enumerate(lines, start=1):
            rows.append(
                [
                    str(index),
                    Paragraph(escape(f"{line.product.sku} {line.description or line.product.name}"), small),
                    formats.number_format(line.quantity.normalize(), use_l10n=True),
                    _amount(line.unit_price),
                    f"{line.discount_percent.normalize():f} %",
                    f"{line.tax_rate.normalize():f} %",
                    _amount(line.net_amount),
                ]
            )
        for label, value in (
            (_("Net total"), quote.net_total),
            (_("Tax"), quote.tax_total),
            (_("Gross total"), quote.gross_total),
        ):
            rows.append(["", Paragraph(label, small), "", "", "", "", _amount(value)])
        table = Table(rows, colWidths=[8 * mm, 70 * mm, 18 * mm, 24 * mm, 18 * mm, 18 * mm, 24 * mm], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), font, 9),
                    ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                    ("LINEABOVE", (0, len(lines) + 1), (-1, len(lines) + 1), 0.6, colors.black),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(table)
        if quote.notes:
            story += [Spacer(1, 6 * mm), Paragraph(escape(quote.notes).replace("\n", "<br/>"), body)]
        doc.build(story)
    return buffer.getvalue()
