"""The retention list: churn scores → an Excel workbook and an HTML page for business readers.

:func:`build_retention_list` checks the scoring output and prepares the rows (sorted by rank, in the
reader's language, with a suggested action each); :mod:`kpredict.reports.excel` and
:mod:`kpredict.reports.html` lay it out. Both files are written together and atomically: a failure
leaves the previous files (or none), never a partial one.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from kpredict.errors import SchemaError
from kpredict.io import atomic_path
from kpredict.reports.actions import suggest_actions
from kpredict.reports.i18n import BANDS, Lang, check_lang, t
from kpredict.reports.retention_list import RetentionList

__all__ = ["REQUIRED_COLUMNS", "RetentionList", "build_retention_list", "write_retention_report"]

REQUIRED_COLUMNS = ("customer_id", "as_of", "model_name", "model_version", "run_id", "churn_probability", "risk_band", "rank")
N_REASONS = 3
AT_RISK = ("high", "medium")
UNDATED = "undated"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_REPORT_MODE = 0o644

logger = logging.getLogger(__name__)


def write_retention_report(
    scored: pd.DataFrame,
    out_dir: str | Path,
    *,
    lang: Lang = "en",
    drivers_png: bytes | None = None,
    title: str | None = None,
    as_of: str | None = None,
    at_risk_only: bool = True,
    horizon_days: int | None = None,
    capacity: int | None = None,
) -> dict[str, Path]:
    """Write the retention list as ``retention_list_<as_of>_<lang>.xlsx`` and ``.html`` in ``out_dir``.

    Args:
        scored: churn scoring output: ``customer_id, as_of, model_name, model_version, run_id,
            churn_probability, risk_band, rank`` and optionally ``reason_1_en, reason_1_zh, ...
            reason_3_zh`` (empty for unexplained rows) and ``reason_1_feature``.
        out_dir: folder of the two files (created if needed).
        lang: ``"en"`` or ``"zh"``: labels, band names, reasons and actions.
        drivers_png: optional PNG of the global drivers chart, embedded in the HTML page.
        title: page and workbook title (default: "Customers at risk of leaving" / "流失风险客户名单").
        as_of: the scoring date shown and used in the file names (default: the ``as_of`` column).
        at_risk_only: list only high and medium risk customers (True) or everyone.
        horizon_days: the days the churn probability looks ahead (said in the header and how-to-read).
        capacity: how many customers the team can contact (shown beside how many are marked).

    Returns:
        ``{"xlsx": path, "html": path}``.

    Raises:
        SchemaError: missing columns, unknown risk bands, probabilities outside 0..1, missing ranks
            or ids, several ``as_of`` dates without ``as_of=``, or ``drivers_png`` that is not a PNG.
        ConfigError: an unknown ``lang``.

    Examples:
        >>> paths = write_retention_report(scores, "reports/", lang="zh", drivers_png=png)
        >>> paths["xlsx"].name
        'retention_list_2024-06-30_zh.xlsx'
    """
    from kpredict.reports.excel import write_workbook
    from kpredict.reports.html import render_html

    report = build_retention_list(
        scored, lang=lang, title=title, as_of=as_of, at_risk_only=at_risk_only, horizon_days=horizon_days, capacity=capacity
    )
    if drivers_png is not None and not bytes(drivers_png).startswith(_PNG_SIGNATURE):
        raise SchemaError("drivers_png is not a PNG image (expected PNG bytes, e.g. from kpredict.explain.figure_to_png)")
    stem = f"retention_list_{_file_token(report.as_of)}_{report.lang}"
    out_dir = Path(out_dir)
    paths = {"xlsx": out_dir / f"{stem}.xlsx", "html": out_dir / f"{stem}.html"}
    page = render_html(report, drivers_png)
    # Both temporary files are complete before either replaces its target.
    with atomic_path(paths["xlsx"]) as xlsx_tmp, atomic_path(paths["html"]) as html_tmp:
        write_workbook(report, xlsx_tmp, drivers_png)
        html_tmp.write_text(page, encoding="utf-8")
        for tmp in (xlsx_tmp, html_tmp):
            tmp.chmod(_REPORT_MODE)  # temporary files are private (0600); reports are for readers
    return paths


def build_retention_list(
    scored: pd.DataFrame,
    *,
    lang: Lang = "en",
    title: str | None = None,
    as_of: str | None = None,
    at_risk_only: bool = True,
    horizon_days: int | None = None,
    capacity: int | None = None,
) -> RetentionList:
    """Check ``scored`` and prepare the rows and header facts of the retention list (see
    :func:`write_retention_report` for the arguments)."""
    lang = check_lang(lang)
    _check(scored)
    as_of_text = _as_of(scored, as_of)
    bands = scored["risk_band"].astype(str)
    counts = {band: int((bands == band).sum()) for band in BANDS}
    chosen = scored[bands.isin(AT_RISK)] if at_risk_only else scored
    chosen = chosen.sort_values("rank", kind="stable")

    rows = pd.DataFrame(
        {
            "rank": pd.to_numeric(chosen["rank"]).to_numpy(),
            "customer_id": chosen["customer_id"].astype(str).to_numpy(dtype=object),
            "probability": pd.to_numeric(chosen["churn_probability"]).to_numpy(dtype=float),
            "band": chosen["risk_band"].astype(str).to_numpy(dtype=object),
        }
    )
    for i in range(1, N_REASONS + 1):
        column = f"reason_{i}_{lang}"
        texts = chosen[column] if column in chosen.columns else pd.Series("", index=chosen.index)
        rows[f"reason_{i}"] = texts.where(texts.notna(), "").astype(str).to_numpy(dtype=object)
    rows["action"] = suggest_actions(chosen, lang).to_numpy(dtype=object)
    contacted = None
    if "contact" in chosen.columns:
        rows.insert(4, "contact", chosen["contact"].fillna(False).astype(bool).to_numpy())
        contacted = int(scored["contact"].fillna(False).astype(bool).sum())

    return RetentionList(
        lang=lang,
        title=title or t("title", lang),
        as_of=as_of_text,
        model_name=_single(scored["model_name"]),
        model_version=_single(scored["model_version"]),
        run_id=_single(scored["run_id"]),
        counts=counts,
        rows=rows,
        scored=len(scored),
        at_risk_only=at_risk_only,
        horizon_days=horizon_days,
        capacity=capacity,
        contacted=contacted,
    )


def _check(scored: pd.DataFrame) -> None:
    if not isinstance(scored, pd.DataFrame):
        raise SchemaError(f"scored must be a pandas DataFrame (the churn scoring output); got {type(scored).__name__}")
    missing = [column for column in REQUIRED_COLUMNS if column not in scored.columns]
    if missing:
        raise SchemaError(
            f"scored is missing columns {missing}; got {list(map(str, scored.columns))}. "
            "Pass the output of 'kpredict score churn'."
        )
    unknown = int((~scored["risk_band"].astype(str).isin(BANDS)).sum())
    if unknown:
        raise SchemaError(f"risk_band has {unknown} row(s) outside {list(BANDS)}")
    probability = pd.to_numeric(scored["churn_probability"], errors="coerce")
    bad = int((probability.isna() | (probability < 0) | (probability > 1)).sum())
    if bad:
        raise SchemaError(f"churn_probability has {bad} row(s) that are missing, not numbers or outside 0..1")
    rank = pd.to_numeric(scored["rank"], errors="coerce")
    bad = int(rank.isna().sum())
    if bad:
        raise SchemaError(f"rank has {bad} row(s) that are missing or not numbers")
    bad = int(scored["customer_id"].isna().sum())
    if bad:
        raise SchemaError(f"customer_id has {bad} missing value(s)")


def _display_date(value: object) -> str:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    if stamp is pd.NaT:
        return str(value)
    if stamp == stamp.normalize():
        return stamp.strftime("%Y-%m-%d")
    return stamp.strftime("%Y-%m-%d %H:%M")


def _as_of(scored: pd.DataFrame, as_of: str | None) -> str:
    if as_of is not None:
        return _display_date(as_of)
    dates = sorted({_display_date(value) for value in scored["as_of"].dropna().unique()})
    if not dates and scored.empty:
        logger.warning("the scoring output is empty and no as_of was given: the report is marked undated")
        return UNDATED
    if not dates:
        raise SchemaError("scored has no as_of value in any of its rows; pass as_of= or fix the scoring output")
    if len(dates) > 1:
        raise SchemaError(f"scored holds {len(dates)} distinct as_of dates; a report covers one, pass as_of= or filter")
    return dates[0]


def _single(column: pd.Series) -> str:
    values = [str(value) for value in pd.unique(column.dropna())]
    return ", ".join(values) if values else "—"


def _file_token(as_of: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "-", as_of.replace(" ", "T").replace(":", "")).strip("-") or "undated"

