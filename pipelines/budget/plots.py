"""The budget charts, each in English and Chinese: the KPI decomposed over time, response curves
with their intervals, and ROI per channel with its interval."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from kpredict.pipelines.budget.model import BudgetModel

from kpredict.explain.fonts import cjk_font_family

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_decomposition", "plot_response_curves", "plot_roi"]

logger = logging.getLogger(__name__)

_TEXT = {
    "en": {
        "decomposition": "What drove the KPI each week", "baseline": "baseline (trend, season, price, promotions)",
        "week": "week", "kpi": "KPI", "curves": "Weekly KPI from each channel at a steady weekly spend",
        "spend": "weekly spend", "now": "current", "roi": "Return per unit of spend ({p} % interval)", "row": "row",
        "roi_axis": "KPI per unit of spend",
    },
    "zh": {
        "decomposition": "每周KPI的构成", "baseline": "基线（趋势、季节、价格、促销）", "week": "周", "kpi": "KPI",
        "curves": "各渠道稳定周投入下的周KPI贡献", "spend": "周投入", "now": "当前", "roi": "每单位投入的回报（{p}%区间）",
        "row": "行", "roi_axis": "每单位投入的KPI",
    },
}


def _language(lang: str) -> tuple[dict[str, str], dict]:
    """Texts of ``lang`` and the font keywords that draw them (English when no CJK font exists)."""
    if lang == "zh":
        family = _cjk_family()
        if family is not None:
            return _TEXT["zh"], {"fontfamily": [family, "DejaVu Sans"]}
    return _TEXT["en"], {}


@functools.cache
def _cjk_family() -> str | None:
    """The CJK font family, looked up (and its absence reported) once per process."""
    family = cjk_font_family()
    if family is None:
        logger.warning("no CJK font is available to matplotlib; the zh budget charts are drawn in English (install fonts-noto-cjk)")
    return family


def _name(channel: str, labels: dict[str, str], lang: str, font: dict) -> str:
    return labels.get(channel, channel) if lang == "zh" and font else channel


def plot_decomposition(contributions: pd.DataFrame, time: pd.Series | None, labels: dict[str, str], lang: str) -> Figure:
    """Stacked baseline and channel contributions per week (or per row)."""
    from matplotlib.figure import Figure

    text, font = _language(lang)
    channels = [c for c in contributions.columns if c not in ("baseline",) and (time is None or c != time.name)]
    x = pd.to_datetime(time).to_numpy() if time is not None else np.arange(len(contributions))
    fig = Figure(figsize=(10, 4.5))
    ax = fig.subplots()
    stack = [contributions["baseline"].to_numpy(), *[contributions[c].to_numpy() for c in channels]]
    names = [text["baseline"], *[_name(c, labels, lang, font) for c in channels]]
    ax.stackplot(x, *stack, labels=names, alpha=0.85)
    ax.set_title(text["decomposition"], **font)
    ax.set_xlabel(text["week"] if time is not None else text["row"], **font)
    ax.set_ylabel(text["kpi"], **font)
    ax.legend(loc="upper left", fontsize=8, prop={"family": font["fontfamily"]} if font else None)
    fig.tight_layout()
    return fig


def plot_response_curves(model: BudgetModel, spend: np.ndarray, labels: dict[str, str], lang: str, points: int = 40) -> Figure:
    """Per channel: steady-state weekly KPI against weekly spend, with the refits' interval and the current spend marked."""
    from matplotlib.figure import Figure

    text, font = _language(lang)
    mean = spend.mean(axis=0)
    grid = np.linspace(0.0, 1.0, points)[:, None] * np.maximum(spend.max(axis=0) * 1.5, 1e-9)[None, :]
    curves = model.response_curves(grid, mean)
    fig = Figure(figsize=(4 * min(len(curves), 3), 3.2 * ((len(curves) + 2) // 3)))
    axes = np.atleast_1d(fig.subplots((len(curves) + 2) // 3, min(len(curves), 3))).ravel()
    for c, (channel, (point, low, high)) in enumerate(curves.items()):
        ax = axes[c]
        ax.plot(grid[:, c], point, color="#1f77b4")
        if np.isfinite(low).all():
            ax.fill_between(grid[:, c], low, high, color="#1f77b4", alpha=0.2)
        ax.axvline(mean[c], color="grey", linestyle="--", linewidth=1, label=text["now"])
        ax.set_title(_name(channel, labels, lang, font), **font)
        ax.set_xlabel(text["spend"], **font)
    for ax in axes[len(curves) :]:
        ax.set_visible(False)
    fig.suptitle(text["curves"], **font)
    fig.tight_layout()
    return fig


def plot_roi(channels: pd.DataFrame, labels: dict[str, str], lang: str, interval: float = 0.9) -> Figure:
    """ROI per channel with its interval."""
    from matplotlib.figure import Figure

    text, font = _language(lang)
    fig = Figure(figsize=(7, 0.5 * len(channels) + 1.5))
    ax = fig.subplots()
    y = np.arange(len(channels))
    roi = channels["roi"].to_numpy()
    ax.barh(y, roi, color="#1f77b4")
    if channels["roi_lo"].notna().all():
        # the point model can fall outside its refits' interval (a bar then starts at the point)
        below, above = np.maximum(roi - channels["roi_lo"].to_numpy(), 0.0), np.maximum(channels["roi_hi"].to_numpy() - roi, 0.0)
        ax.errorbar(roi, y, xerr=[below, above], fmt="none", ecolor="black", capsize=3)
    ax.set_yticks(y, [_name(c, labels, lang, font) for c in channels["channel"]], **font)
    ax.invert_yaxis()
    ax.set_title(text["roi"].format(p=round(100 * interval)), **font)
    ax.set_xlabel(text["roi_axis"], **font)
    fig.tight_layout()
    return fig
