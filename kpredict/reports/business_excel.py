"""The business report as an Excel workbook: "what changed" first, then one sheet per decision.

Each decision sheet: title, model line, the lede, the key figures, then its tables (bold header,
severity colours, number formats); charts sit to the right of the tables. Texts are written as
strings, never formulas or links; the creation time is the report date, so same input, same bytes.
"""

from __future__ import annotations

import io
import logging
import math
from pathlib import Path

import pandas as pd

from kpredict.reports.business import BusinessReport, change_text
from kpredict.reports.excel import BAND_COLOURS, _created, _display_width
from kpredict.reports.section import Section

__all__ = ["write_business_workbook"]

logger = logging.getLogger(__name__)

_HEADER_FILL = "#D9E1F2"
_NUMBER_FORMATS = {"count": "#,##0", "number": "#,##0.00", "money": "#,##0", "percent": "0.0%", "score": "0.0000"}
_COLOURS = {**BAND_COLOURS, "critical": ("#9C0006", "#FFFFFF")}
_TEXT_WIDTH = 100


class _Formats:
    def __init__(self, workbook) -> None:
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.bold = workbook.add_format({"bold": True})
        self.meta = workbook.add_format({"font_color": "#57606a"})
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.header = workbook.add_format({"bold": True, "bg_color": _HEADER_FILL, "bottom": 1, "text_wrap": True, "valign": "top"})
        self.number = {kind: workbook.add_format({"num_format": fmt}) for kind, fmt in _NUMBER_FORMATS.items()}
        self.band = {band: workbook.add_format({"bg_color": fill, "font_color": font}) for band, (fill, font) in _COLOURS.items()}
        self.better = workbook.add_format({"font_color": "#1a7f37", "align": "right"})
        self.worse = workbook.add_format({"font_color": "#cf222e", "align": "right"})
        self.right = workbook.add_format({"align": "right"})


def _paragraph(sheet, row: int, text: str, fmt, columns: int = 8) -> int:
    sheet.merge_range(row, 0, row, columns - 1, text, fmt)
    lines = math.ceil(_display_width(pd.Series([text])) / _TEXT_WIDTH) if text else 1
    sheet.set_row(row, 15 * max(lines, 1))
    return row + 1


def _write_value(sheet, row: int, col: int, value: object, kind: str | None, formats: _Formats, band: str | None = None) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not (isinstance(value, float) and math.isnan(value)):
        sheet.write_number(row, col, float(value), formats.number.get(kind or "number", formats.number["number"]))
    elif isinstance(value, float) and math.isnan(value):
        return
    elif band is not None:
        sheet.write_string(row, col, str(value), formats.band[band])
    else:
        sheet.write_string(row, col, str(value))


def _section_sheet(workbook, section: Section, report: BusinessReport, formats: _Formats, names: set[str]) -> None:
    name = section.sheet[:31]
    while name in names:
        name = name[:29] + "_2"
    names.add(name)
    sheet = workbook.add_worksheet(name)
    sheet.write_string(0, 0, section.title, formats.title)
    if section.model:
        sheet.write_string(1, 0, section.model, formats.meta)
    row = _paragraph(sheet, 2, section.lede, formats.wrap)
    row += 1
    for figure in section.figures:
        sheet.write_string(row, 0, figure.label, formats.bold)
        _write_value(sheet, row, 1, figure.value, figure.format, formats)
        row += 1
    widest = max((len(t.frame.columns) for t in section.tables), default=2)
    widths = [max(12, _display_width(pd.Series([f.label for f in section.figures] or [""])) + 2)] + [12] * (widest - 1)
    for table in section.tables:
        row += 1
        sheet.write_string(row, 0, table.title, formats.bold)
        row += 1
        for col, column in enumerate(table.frame.columns):
            sheet.write_string(row, col, str(column), formats.header)
            widths[col] = max(widths[col], min(60, _display_width(pd.Series([str(column)])) + 2))
        first = row
        for values in table.frame.itertuples(index=False):
            row += 1
            for col, (column, value) in enumerate(zip(table.frame.columns, values)):
                band = table.band_values.get(str(value)) if column == table.band else None
                _write_value(sheet, row, col, value, table.formats.get(column), formats, band)
        for col, column in enumerate(table.frame.columns):
            if not table.frame.empty and column not in table.formats:
                widths[col] = max(widths[col], min(60, _display_width(table.frame[column]) + 2))
        if not table.frame.empty:
            sheet.autofilter(first, 0, row, len(table.frame.columns) - 1)
        row += 1
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    if section.how_to_read:
        row += 1
        sheet.write_string(row, 0, report.text("how"), formats.bold)
        _paragraph(sheet, row + 1, section.how_to_read, formats.wrap, columns=max(widest, 8))
    from xlsxwriter.exceptions import UndefinedImageSize, UnsupportedImageFormat

    chart_row = 4
    for chart in section.charts:
        try:
            sheet.insert_image(chart_row, widest + 1, f"{section.key}.png",
                               {"image_data": io.BytesIO(chart.png), "x_scale": 0.75, "y_scale": 0.75, "object_position": 3})
        except (UndefinedImageSize, UnsupportedImageFormat) as exc:
            logger.warning("the %s chart cannot be placed in the workbook (%s); the sheet goes without it", section.key, exc)
            continue
        sheet.write_string(chart_row - 1, widest + 1, chart.caption, formats.meta)
        chart_row += 32
    sheet.freeze_panes(1, 0)


def _changes_sheet(workbook, report: BusinessReport, formats: _Formats) -> None:
    sheet = workbook.add_worksheet(report.text("changes_sheet")[:31])
    sheet.write_string(0, 0, report.title, formats.title)
    sheet.write_string(1, 0, report.text("as_of", as_of=report.as_of), formats.meta)
    sheet.write_string(3, 0, report.text("changes"), formats.bold)
    if report.previous_as_of is None:
        _paragraph(sheet, 4, report.text("first", folder=report.folder, as_of=report.as_of), formats.wrap, columns=5)
        sheet.set_column(0, 0, 40)
        return
    row = _paragraph(sheet, 4, report.text("since", previous=report.previous_as_of), formats.wrap, columns=5)
    for note in report.change_notes:
        row = _paragraph(sheet, row, note, formats.wrap, columns=5)
    row += 1
    for col, key in enumerate(("decision", "figure", "previous", "now", "change")):
        sheet.write_string(row, col, report.text(key), formats.header)
    for change in report.changes:
        row += 1
        sheet.write_string(row, 0, change.section)
        sheet.write_string(row, 1, change.label)
        _write_value(sheet, row, 2, change.previous, change.format, formats)
        _write_value(sheet, row, 3, change.now, change.format, formats)
        text, css = change_text(change, report.lang)
        sheet.write_string(row, 4, text, {"better": formats.better, "worse": formats.worse}.get(css, formats.right))
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 1, 34)
    sheet.set_column(2, 4, 16)


def write_business_workbook(report: BusinessReport, path: str | Path) -> None:
    """Write ``report`` to ``path`` (the caller's temporary file)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False})
    try:
        workbook.set_properties({"title": report.title, "created": _created(report.as_of)})
        formats = _Formats(workbook)
        _changes_sheet(workbook, report, formats)
        names = {report.text("changes_sheet")[:31]}
        for section in report.sections:
            _section_sheet(workbook, section, report, formats, names)
    finally:
        workbook.close()
