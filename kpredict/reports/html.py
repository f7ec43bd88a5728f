"""The retention list as one self-contained HTML page: inline CSS, the drivers chart inline as a
base64 PNG, every text HTML-escaped (``html.escape``: no template engine needed for one table)."""

from __future__ import annotations

import base64
from html import escape

from kpredict.reports.i18n import BANDS, band_label, how_to_read, t
from kpredict.reports.retention_list import RetentionList

__all__ = ["render_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;
margin:2rem;color:#1f2328;line-height:1.4}
h1{font-size:1.5rem;margin:0 0 .25rem}
.meta{color:#57606a;margin:0 0 1rem}
.counts span{display:inline-block;margin:0 .5rem .5rem 0;padding:.2rem .6rem;border-radius:1rem;font-weight:600}
.band-high{background:#FFC7CE;color:#9C0006}
.band-medium{background:#FFEB9C;color:#9C5700}
.band-low{background:#C6EFCE;color:#006100}
.neutral{background:#eaeef2}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#D9E1F2;position:sticky;top:0}
td.num{text-align:right;white-space:nowrap}
.empty{padding:1rem;background:#f6f8fa;border-radius:.5rem}
figure{margin:1rem 0}
figure img{max-width:100%;height:auto}
.how{color:#57606a;font-size:.9rem;max-width:60rem}
""".strip()



def _rank_text(rank: float) -> str:
    return str(int(rank)) if float(rank).is_integer() else f"{rank:g}"


def render_html(report: RetentionList, drivers_png: bytes | None = None) -> str:
    """The page as text (the caller writes it atomically as UTF-8)."""
    lang = report.lang
    e = escape
    colon = t("colon", lang)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(report.title)} — {e(report.as_of)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{e(report.title)}</h1>",
        f'<p class="meta">{e(t("as_of", lang))}{colon}{e(report.as_of)} · {e(t("model", lang))}{colon}{e(report.model_name)} · '
        f'{e(t("model_version", lang))}{colon}{e(report.model_version)} · '
        f'{e(t("run_id", lang))}{colon}<code>{e(report.run_id)}</code></p>',
        '<p class="counts">',
        f'<span class="neutral">{e(t("scored", lang))}{colon}{report.scored:,}</span>',
    ]
    parts += [f'<span class="band-{band}">{e(band_label(band, lang))}{colon}{report.counts[band]:,}</span>' for band in BANDS]
    parts.append(f'<span class="neutral">{e(t("listed", lang))}{colon}{report.listed:,}</span>')
    if report.contacted is not None:
        open_, close = (" (", ")") if lang == "en" else ("（", "）")
        capacity = f"{open_}{e(t('capacity', lang, capacity=report.capacity))}{close}" if report.capacity else ""
        parts.append(f'<span class="neutral">{e(t("to_contact", lang))}{colon}{report.contacted:,}{capacity}</span>')
    if report.horizon_days:
        parts.append(f'<span class="neutral">{e(t("horizon", lang))}{colon}{e(t("horizon_days", lang, days=report.horizon_days))}</span>')
    parts += ["</p>", "</header>"]
    if drivers_png:
        data = base64.b64encode(bytes(drivers_png)).decode("ascii")
        parts += [
            "<figure>",
            f'<img src="data:image/png;base64,{data}" alt="{e(t("drivers_alt", lang))}">',
            f"<figcaption>{e(t('drivers', lang))}</figcaption>",
            "</figure>",
        ]
    parts.append("<main>")
    if report.rows.empty:
        parts.append(f'<p class="empty">{e(t("no_customers", lang, as_of=report.as_of))}</p>')
    else:
        parts.append("<table>")
        parts.append("<thead><tr>" + "".join(f"<th>{e(t(f'col_{c}', lang))}</th>" for c in report.columns) + "</tr></thead>")
        parts.append("<tbody>")
        band_text = {band: e(band_label(band, lang)) for band in BANDS}
        for row in report.rows.itertuples(index=False):
            parts.append(
                f'<tr class="row-{row.band}"><td class="num">{_rank_text(row.rank)}</td><td>{e(row.customer_id)}</td>'
                f'<td class="num">{row.probability:.1%}</td>'
                f'<td class="band-{row.band}">{band_text[row.band]}</td>'
                + (f"<td>{e(t('yes', lang)) if row.contact else ''}</td>" if "contact" in report.columns else "")
                + f"<td>{e(row.reason_1)}</td><td>{e(row.reason_2)}</td><td>{e(row.reason_3)}</td>"
                f"<td>{e(row.action)}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts += [
        "</main>",
        '<footer class="how">',
        f"<h2>{e(t('how_to_read_heading', lang))}</h2>",
        f"<p>{e(how_to_read(lang, report.horizon_days, report.capacity))}</p>",
        "</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)
