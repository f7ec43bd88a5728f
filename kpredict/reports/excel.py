"""The retention list as an Excel workbook (XlsxWriter).

Sheet 1: the list (bold frozen header, autofilter, set widths, risk bands colour-coded: high red,
medium amber, low green). Sheet 2: about — model, run, date, counts per band, how to read the list.
Every text is written as a string (never a formula or a link), so a customer id like ``=1+1`` stays
text. The creation time is fixed to the report date, so the same input gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from pathlib import Path

import pandas as pd

from kpredict.errors import MissingExtraError
from kpredict.reports.i18n import BANDS, LANGS, band_label, how_to_read, t
from kpredict.reports.retention_list import RetentionList

__all__ = ["BAND_COLOURS", "COLUMNS", "write_workbook"]

logger = logging.getLogger(__name__)

COLUMNS = ("rank", "customer_id", "probability", "band", "reason_1", "reason_2", "reason_3", "action")  # without "contact"
# (fill, font): Excel's own "Bad" / "Neutral" / "Good" cell styles.
BAND_COLOURS = {"high": ("#FFC7CE", "#9C0006"), "medium": ("#FFEB9C", "#9C5700"), "low": ("#C6EFCE", "#006100")}
_HEADER_FILL = "#D9E1F2"
_MIN_WIDTH, _MAX_WIDTH = 8, 60


def write_workbook(report: RetentionList, path: str | Path, drivers_png: bytes | None = None) -> None:
    """Write ``report`` to ``path`` (any name: the caller renames the temporary file); the drivers
    chart, when given, goes on the About sheet."""
    try:
        import xlsxwriter
    except ImportError as exc:  # pragma: no cover - exercised only without the dependency
        raise MissingExtraError(
            "'xlsxwriter' is needed to write the retention workbook but is not installed. "
            "Install it with: pip install XlsxWriter"
        ) from exc

    workbook = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    try:
        workbook.set_properties({"title": report.title, "created": _created(report.as_of)})
        _list_sheet(workbook, report)
        _about_sheet(workbook, report, drivers_png)
    finally:
        workbook.close()


def _created(as_of: str) -> dt.datetime:
    try:
        stamp = pd.Timestamp(as_of)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if stamp is pd.NaT:
        return dt.datetime(2000, 1, 1)
    return stamp.tz_localize(None).to_pydatetime() if stamp.tzinfo else stamp.to_pydatetime()


def _display_width(texts: pd.Series) -> int:
    """Widest text in characters, CJK counted double (they are about two Latin letters wide)."""
    if texts.empty:
        return 0
    strings = texts.astype(str)
    return int((strings.str.len() + strings.str.count(r"[^\x00-\x7f]")).max())


def _list_sheet(workbook, report: RetentionList) -> None:
    lang = report.lang
    sheet = workbook.add_worksheet(t("sheet_list", lang))
    header = workbook.add_format({"bold": True, "bg_color": _HEADER_FILL, "bottom": 1, "valign": "top"})
    rank_format = workbook.add_format({"num_format": "0", "align": "left"})
    percent = {band: workbook.add_format({"num_format": "0.0%"}) for band in BANDS}
    fills = {}
    for band, (fill, font) in BAND_COLOURS.items():
        fills[band] = workbook.add_format({"bg_color": fill, "font_color": font})
        percent[band] = workbook.add_format({"num_format": "0.0%", "bg_color": fill, "font_color": font})

    columns = report.columns
    headers = [t(f"col_{column}", lang) for column in columns]
    for col, text in enumerate(headers):
        sheet.write_string(0, col, text, header)

    rows = report.rows
    band_text = {band: band_label(band, lang) for band in BANDS}
    texts = [c for c in columns if c.startswith("reason_") or c == "action"]
    for r, row in enumerate(rows.itertuples(index=False), start=1):
        values = row._asdict()
        sheet.write_number(r, 0, float(row.rank), rank_format)
        sheet.write_string(r, 1, row.customer_id)
        sheet.write_number(r, 2, row.probability, percent[row.band])
        sheet.write_string(r, 3, band_text[row.band], fills[row.band])
        if "contact" in columns and values["contact"]:
            sheet.write_string(r, columns.index("contact"), t("yes", lang))
        for column in texts:
            if values[column]:  # an unexplained row leaves a blank cell, which Excel's filter lists as (Blanks)
                sheet.write_string(r, columns.index(column), values[column])
    if rows.empty:
        sheet.merge_range(1, 0, 1, len(columns) - 1, t("no_customers", lang, as_of=report.as_of))

    for col, column in enumerate(columns):
        if column == "probability":
            content = 7
        elif column == "contact":
            content = _display_width(pd.Series([t("yes", lang)]))
        elif column == "band":
            content = _display_width(pd.Series(list(band_text.values())))
        else:
            content = _display_width(rows[column]) if column != "rank" else len(str(len(rows)))
        width = max(_MIN_WIDTH, min(_MAX_WIDTH, max(content, _display_width(pd.Series([headers[col]]))) + 2))
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
    sheet.repeat_rows(0)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)


def _about_sheet(workbook, report: RetentionList, drivers_png: bytes | None = None) -> None:
    lang = report.lang
    sheet = workbook.add_worksheet(t("sheet_about", lang))
    bold = workbook.add_format({"bold": True, "valign": "top"})
    title = workbook.add_format({"bold": True, "font_size": 14})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    count = workbook.add_format({"num_format": "#,##0", "align": "left"})
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 90)

    sheet.write_string(0, 0, report.title, title)
    facts = [
        (t("as_of", lang), report.as_of),
        (t("model", lang), report.model_name),
        (t("model_version", lang), report.model_version),
        (t("run_id", lang), report.run_id),
    ]
    if report.horizon_days:
        facts.append((t("horizon", lang), t("horizon_days", lang, days=report.horizon_days)))
    row = 2
    for label, value in facts:
        sheet.write_string(row, 0, label, bold)
        sheet.write_string(row, 1, value)
        row += 1
    row += 1
    numbers = [(t("scored", lang), report.scored)]
    numbers += [(band_label(band, lang), report.counts[band]) for band in BANDS]
    numbers.append((t("listed", lang), report.listed))
    if report.contacted is not None:
        numbers.append((t("to_contact", lang), report.contacted))
    for label, value in numbers:
        sheet.write_string(row, 0, label, bold)
        sheet.write_number(row, 1, value, count)
        row += 1
    row += 1
    # How to read: the reader's language first, then the other one.
    for text_lang in sorted(LANGS, key=lambda code: code != lang):
        sheet.write_string(row, 0, t("how_to_read_heading", text_lang), bold)
        text = how_to_read(text_lang, report.horizon_days, report.capacity)
        sheet.write_string(row, 1, text, wrap)
        lines = math.ceil(_display_width(pd.Series([text])) / 88)
        sheet.set_row(row, 15 * max(lines, 1))
        row += 1
    if drivers_png:
        _drivers_chart(sheet, row + 1, t("drivers", lang), bold, drivers_png)


def _drivers_chart(sheet, row: int, label: str, bold, png: bytes) -> None:
    """The drivers chart under the how-to-read text; an image XlsxWriter cannot read is left out, with a warning."""
    import io

    from xlsxwriter.exceptions import UndefinedImageSize, UnsupportedImageFormat

    try:
        sheet.insert_image(row, 1, "drivers.png", {"image_data": io.BytesIO(bytes(png)), "x_scale": 0.8, "y_scale": 0.8, "object_position": 3})
    except (UndefinedImageSize, UnsupportedImageFormat) as exc:
        logger.warning("the drivers chart cannot be placed in the workbook (%s); the workbook goes without it", type(exc).__name__)
        return
    sheet.write_string(row, 0, label, bold)
