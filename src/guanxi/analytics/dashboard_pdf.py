"""A dashboard as a PDF: each widget's numbers as a table, with the trend and the segments drawn as charts.

Drawn with reportlab, as the sales app draws quotes, in its built-in CID font STSong-Light so Chinese
renders with no font file on the server. The tables come from `selectors.widget_table`, so the PDF
shows the same numbers as the page, the CSV exports and the API.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from django.utils import translation
from django.utils.translation import gettext as _

from .selectors import Dashboard, widget_table

FONT = "STSong-Light"


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _line_chart(board: Dashboard, font: str) -> Any:
    """The trend widget's first series (revenue, or first-contact resolution on the service dashboard)."""
    from reportlab.graphics.charts.linecharts import HorizontalLineChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    series = next(iter(board.trend.values()), [])
    values = [f.value or 0.0 for f in series]
    drawing = Drawing(480, 170)
    if not series:
        return drawing
    drawing.add(String(0, 158, str(series[0].kpi.label), fontName=font, fontSize=9))
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 50, 25, 420, 120
    chart.data = [values]
    chart.categoryAxis.categoryNames = [m.strftime("%m") for m in board.months]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max([*values, 1.0]) * 1.1
    chart.lines[0].strokeColor = colors.HexColor("#206bc4")
    chart.lines[0].strokeWidth = 1.5
    drawing.add(chart)
    return drawing


def _bar_chart(board: Dashboard, font: str) -> Any:
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    shown = [s for s in board.segments if s["customers"]]
    drawing = Drawing(480, 16 * max(len(shown), 1) + 30)
    if not shown:
        return drawing
    chart = HorizontalBarChart()
    chart.x, chart.y = 130, 15
    chart.width, chart.height = 330, 16 * len(shown)
    chart.data = [[s["customers"] for s in reversed(shown)]]
    chart.categoryAxis.categoryNames = [s["label"] for s in reversed(shown)]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#206bc4")
    drawing.add(chart)
    return drawing


def dashboard_pdf(board: Dashboard, *, title: str, language: str) -> bytes:
    """The PDF bytes of one dashboard as its viewer sees it, in their language."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    buffer = io.BytesIO()
    with translation.override(language):
        heading = _("%(dashboard)s dashboard, %(month)s") % {
            "dashboard": title,
            "month": board.month.strftime("%Y-%m"),
        }
        doc = SimpleDocTemplate(
            buffer,
            pagesize=landscape(A4),
            leftMargin=12 * mm,
            rightMargin=12 * mm,
            topMargin=12 * mm,
            bottomMargin=12 * mm,
            title=heading,
            author="Guanxi",
        )
        h1 = ParagraphStyle("h1", fontName=font, fontSize=16, leading=22, wordWrap="CJK")
        h2 = ParagraphStyle("h2", fontName=font, fontSize=11, leading=16, spaceBefore=8, wordWrap="CJK")
        small = ParagraphStyle("small", fontName=font, fontSize=8, leading=10, wordWrap="CJK")
        story: list[Any] = [Paragraph(escape(heading), h1)]
        if board.where is not None:
            shown = _("Filtered: %(dimension)s = %(value)s") % {
                "dimension": board.where.dimension_label,
                "value": board.where.label,
            }
            story.append(Paragraph(escape(shown), small))
        story.append(Spacer(1, 3 * mm))
        sections = [
            ("numbers", _("Key figures")),
            ("trend", _("Trend, last 12 months")),
            ("funnel", _("Customer funnel")),
            ("segments", _("RFM segments")),
            ("heatmap", str(board.heat.title)),
        ]
        for widget, name in sections:
            header, rows = widget_table(board, widget)
            story.append(Paragraph(escape(name), h2))
            note = board.note(widget)
            if widget == "trend" and not note:
                story.append(_line_chart(board, font))
            if widget == "segments" and not note:
                story.append(_bar_chart(board, font))
            if not rows:
                story.append(Paragraph(escape(note or _("No figures for this month yet.")), small))
                continue
            data = [[Paragraph(escape(str(h)), small) for h in header]]
            data += [
                [Paragraph(escape(_cell(v)), small) if i == 0 else _cell(v) for i, v in enumerate(r)] for r in rows
            ]
            widths = [28 * mm] + [11 * mm] * 24 if widget == "heatmap" else None
            table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
            table.setStyle(
                TableStyle(
                    [
                        ("FONT", (0, 0), (-1, -1), font, 7 if widget == "heatmap" else 8),
                        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story.append(table)
        doc.build(story)
    return buffer.getvalue()
