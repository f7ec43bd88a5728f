"""The business report as one self-contained HTML page.

Nothing is fetched when it opens: the CSS is inline, charts are ``data:`` PNGs, there is no script.
Every text is escaped with ``html.escape``. Fonts: the system's Chinese UI fonts are named first, so
zh text renders with a CJK face wherever the reader's machine has one.
"""

from __future__ import annotations

import base64
import math
from html import escape

from kpredict.reports.business import BusinessReport, change_text, format_value
from kpredict.reports.section import KeyFigure, Section, SectionTable

__all__ = ["render_business_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Noto Sans SC",
"Source Han Sans SC","WenQuanYi Zen Hei",sans-serif;margin:0;color:#1f2328;line-height:1.45;background:#f6f8fa}
header,section{max-width:72rem;margin:0 auto;padding:1.25rem 2rem;background:#fff}
header{border-bottom:1px solid #d0d7de}
section{margin-top:1rem;border-top:4px solid #0969da}
h1{font-size:1.6rem;margin:0 0 .25rem}
h2{font-size:1.3rem;margin:.25rem 0 .5rem}
h3{font-size:1rem;margin:1rem 0 .4rem}
nav a{margin-right:1rem}
.meta{color:#57606a;margin:.1rem 0 .6rem;font-size:.9rem}
.lede{font-size:1.05rem;max-width:60rem}
.figures{display:flex;flex-wrap:wrap;gap:.6rem;margin:.6rem 0}
.figure{border:1px solid #d0d7de;border-radius:.5rem;padding:.5rem .8rem;min-width:9rem}
.figure b{display:block;font-size:1.35rem}
.figure span{color:#57606a;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.88rem;margin:.3rem 0}
th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#D9E1F2}
td.num{text-align:right;white-space:nowrap}
.band-critical{background:#9C0006;color:#fff}
.band-high{background:#FFC7CE;color:#9C0006}
.band-medium{background:#FFEB9C;color:#9C5700}
.band-low{background:#C6EFCE;color:#006100}
.better{color:#1a7f37}.worse{color:#cf222e}
.note{color:#57606a;font-size:.85rem}
.unavailable{padding:.8rem;background:#fff8c5;border-radius:.5rem}
figure{margin:1rem 0}
figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figcaption{color:#57606a;font-size:.9rem}
.how{color:#57606a;font-size:.9rem;max-width:60rem}
""".strip()


def _figures(figures: list[KeyFigure], lang: str) -> list[str]:
    if not figures:
        return []
    cards = "".join(f'<div class="figure"><b>{escape(format_value(f.value, f.format, lang))}</b><span>{escape(f.label)}</span></div>' for f in figures)
    return [f'<div class="figures">{cards}</div>']


def _cell(value: object, kind: str | None, lang: str) -> tuple[str, bool]:
    if kind is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_value(float(value), kind, lang), True
    if isinstance(value, float) and math.isnan(value):
        return "", False
    return str(value), False


def _table(table: SectionTable, report: BusinessReport) -> list[str]:
    parts = [f"<h3>{escape(table.title)}</h3>"]
    if table.frame.empty:
        return [*parts, f'<p class="note">{escape(report.text("none"))}</p>']
    frame = table.frame.head(table.page_rows)
    columns = list(frame.columns)
    parts.append("<table><thead><tr>" + "".join(f"<th>{escape(str(c))}</th>" for c in columns) + "</tr></thead><tbody>")
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(columns, row):
            text, numeric = _cell(value, table.formats.get(column), report.lang)
            classes = ["num"] if numeric else []
            if column == table.band and str(value) in table.band_values:
                classes.append(f"band-{table.band_values[str(value)]}")
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{escape(text)}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    if len(table.frame) > len(frame):
        parts.append(f'<p class="note">{escape(report.text("more_rows", shown=len(frame), total=len(table.frame)))}</p>')
    return parts


def _section(section: Section, report: BusinessReport) -> list[str]:
    parts = [f'<section id="{escape(section.key)}">', f"<h2>{escape(section.title)}</h2>"]
    if section.model:
        parts.append(f'<p class="meta">{escape(section.model)}</p>')
    if not section.figures and not section.tables:  # a pipeline that could not report says why
        return [*parts, f'<p class="unavailable">{escape(section.lede)}</p>', "</section>"]
    parts.append(f'<p class="lede">{escape(section.lede)}</p>')
    parts += _figures(section.figures, report.lang)
    for chart in section.charts:
        data = base64.b64encode(chart.png).decode("ascii")
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{escape(chart.caption)}"><figcaption>{escape(chart.caption)}</figcaption></figure>')
    for table in section.tables:
        parts += _table(table, report)
    if section.how_to_read:
        parts += [f'<div class="how"><h3>{escape(report.text("how"))}</h3><p>{escape(section.how_to_read)}</p></div>']
    parts.append("</section>")
    return parts


def _changes(report: BusinessReport) -> list[str]:
    parts = ['<section id="changes">', f"<h2>{escape(report.text('changes'))}</h2>"]
    if report.previous_as_of is None:
        return [*parts, f'<p class="lede">{escape(report.text("first", folder=report.folder, as_of=report.as_of))}</p>', "</section>"]
    parts.append(f'<p class="lede">{escape(report.text("since", previous=report.previous_as_of))}</p>')
    if report.change_notes:
        parts.append("<ul>" + "".join(f"<li>{escape(note)}</li>" for note in report.change_notes) + "</ul>")
    if report.changes:
        head = [report.text(k) for k in ("decision", "figure", "previous", "now", "change")]
        parts.append("<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>")
        for change in report.changes:
            text, css = change_text(change, report.lang)
            parts.append(
                f"<tr><td>{escape(change.section)}</td><td>{escape(change.label)}</td>"
                f'<td class="num">{escape(format_value(change.previous, change.format, report.lang))}</td>'
                f'<td class="num">{escape(format_value(change.now, change.format, report.lang))}</td>'
                f'<td class="num {css}">{escape(text)}</td></tr>'
            )
        parts.append("</tbody></table>")
    parts.append("</section>")
    return parts


def render_business_html(report: BusinessReport) -> str:
    """The page as text (the caller writes it atomically as UTF-8)."""
    e = escape
    toc = [f'<a href="#changes">{e(report.text("changes"))}</a>'] + [f'<a href="#{e(s.key)}">{e(s.title)}</a>' for s in report.sections]
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if report.lang == "zh" else "en"}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(report.title)} — {e(report.as_of)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{e(report.title)}</h1>",
        f'<p class="meta">{e(report.text("as_of", as_of=report.as_of))}</p>',
        f'<nav aria-label="{e(report.text("contents"))}">{"".join(toc)}</nav>',
        "</header>",
        *_changes(report),
    ]
    for section in report.sections:
        parts += _section(section, report)
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
