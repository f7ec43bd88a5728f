"""Charts of what drives the scores: an importance bar chart and a SHAP-style beeswarm.

Figures are built as ``matplotlib.figure.Figure`` objects (rendered by Agg when saved), never through
pyplot: no global figure registry to leak, no GUI backend needed, and the caller's backend is left
alone. matplotlib is imported inside the functions so ``import kpredict.explain`` stays light.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from kpredict.errors import ConfigError, SchemaError
from kpredict.explain.fonts import cjk_font_family
from kpredict.explain.formatting import describe
from kpredict.explain.importance import global_importance
from kpredict.features.definitions import Feature

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["figure_to_png", "plot_beeswarm", "plot_importance_bar"]

logger = logging.getLogger(__name__)

_TEXT = {
    "importance_title": {"en": "What drives the score", "zh": "影响得分的主要因素"},
    "importance_x": {"en": "how far it moves a customer's score, on average", "zh": "对单个客户得分的平均影响"},
    "beeswarm_title": {"en": "How each feature moves the score", "zh": "各因素对得分的影响"},
    "beeswarm_x": {"en": "contribution to the score (log-odds)", "zh": "对得分的贡献（对数几率）"},
    "value": {"en": "feature value", "zh": "特征取值"},
    "low": {"en": "low", "zh": "低"},
    "high": {"en": "high", "zh": "高"},
}
_BAR_COLOUR = "#1f77b4"


def _labels_and_font(names: Sequence[str], features: Mapping[str, Feature] | None, lang: str) -> tuple[list[str], str, str | None]:
    """Axis labels in ``lang``, the language the chart's own texts can use, and the CJK family to draw them.

    Without a CJK font, Chinese would render as empty boxes: labels fall back to feature names and
    chart texts to English.
    """
    if lang not in ("en", "zh"):
        raise ConfigError(f"lang must be 'en' or 'zh'; got {lang!r}")
    features = features or {}
    if lang == "en":
        return [describe(name, features, "en") for name in names], "en", None
    family = cjk_font_family()
    if family is None:
        logger.warning(
            "no CJK font is available to matplotlib; Chinese chart labels fall back to feature names "
            "(install one, e.g. the Debian package fonts-noto-cjk, to draw them)"
        )
        return list(names), "en", None
    return [describe(name, features, "zh") for name in names], "zh", family


def _font_kwargs(family: str | None) -> dict:
    # A list lets matplotlib fall back glyph by glyph: Latin from DejaVu Sans, CJK from the family.
    return {"fontfamily": [family, "DejaVu Sans"]} if family else {}


def plot_importance_bar(
    importance: pd.DataFrame,
    features: Mapping[str, Feature] | None = None,
    lang: Literal["en", "zh"] = "en",
    top: int = 15,
) -> Figure:
    """Horizontal bar chart of the ``top`` features by mean absolute contribution.

    Args:
        importance: the output of :func:`global_importance` (columns ``feature``, ``mean_abs_shap``).
        features: feature definitions by name; bars are labelled with their descriptions in ``lang``.
        lang: ``"en"`` or ``"zh"`` (needs a CJK font; without one, labels are feature names).
        top: number of features shown.

    Returns:
        A matplotlib Figure (save it with ``fig.savefig(path)`` or :func:`figure_to_png`).
    """
    from matplotlib.figure import Figure

    missing = [column for column in ("feature", "mean_abs_shap") if column not in importance.columns]
    if missing:
        raise SchemaError(
            f"importance is missing columns {missing}; got {list(map(str, importance.columns))}. "
            "Pass the output of kpredict.explain.global_importance."
        )
    shown = importance.sort_values("mean_abs_shap", ascending=False, kind="stable").head(max(int(top), 1))
    names = [str(name) for name in shown["feature"]]
    labels, text_lang, family = _labels_and_font(names, features, lang)
    fig = Figure(figsize=(8, 0.4 * max(len(names), 1) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    positions = np.arange(len(names))[::-1]
    ax.barh(positions, shown["mean_abs_shap"].to_numpy(dtype=float), color=_BAR_COLOUR)
    ax.set_yticks(positions, labels, **_font_kwargs(family))
    ax.set_xlabel(_TEXT["importance_x"][text_lang], **_font_kwargs(family))
    ax.set_title(_TEXT["importance_title"][text_lang], **_font_kwargs(family))
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def plot_beeswarm(
    contributions: np.ndarray,
    values: pd.DataFrame,
    feature_names: Sequence[str],
    top: int = 15,
    *,
    features: Mapping[str, Feature] | None = None,
    lang: Literal["en", "zh"] = "en",
    max_points: int = 5000,
    seed: int = 0,
) -> Figure:
    """SHAP-style beeswarm: one row per feature, one dot per row of data, coloured by the feature's value.

    Drawn with matplotlib directly (same look as ``shap.plots.beeswarm``, without importing shap).

    Args:
        contributions: ``(n_rows, n_features + 1)`` with the base value last, or ``(n_rows, n_features)``.
        values: feature values, same rows, columns in contribution order. Non-numeric values are grey.
        feature_names: the features, in contribution order.
        top: number of features shown (by mean absolute contribution).
        features: optional definitions; when given, rows are labelled with descriptions in ``lang``.
        lang: label language (``"zh"`` needs a CJK font).
        max_points: rows drawn at most (a seeded random sample beyond that).
        seed: seed of that sample.
    """
    from matplotlib.figure import Figure

    importance = global_importance(contributions, feature_names)
    names = [str(name) for name in feature_names]
    if len(values) != np.asarray(contributions).shape[0] or values.shape[1] != len(names):
        raise SchemaError(
            f"values have shape {values.shape}, expected ({np.asarray(contributions).shape[0]}, {len(names)}): "
            "same rows as contributions and one column per feature"
        )
    shap = np.asarray(contributions, dtype=np.float64)[:, : len(names)]
    rows = np.arange(shap.shape[0])
    if len(rows) > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=max_points, replace=False))
    shown = [str(name) for name in importance["feature"].head(max(int(top), 1))]
    labels, text_lang, family = _labels_and_font(shown, features if features is not None else {}, lang)

    fig = Figure(figsize=(8, 0.45 * max(len(shown), 1) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    ax.axvline(0, color="#999999", linewidth=0.8, zorder=1)
    cmap = _shap_colormap()
    scatter = None
    for level, name in enumerate(shown):
        position = names.index(name)
        y = len(shown) - 1 - level
        x = shap[rows, position]
        colour_value = _normalised(values.iloc[rows, position])
        offsets = _swarm_offsets(x)
        numeric = ~np.isnan(colour_value)
        ax.scatter(x[~numeric], y + offsets[~numeric], s=10, color="#777777", alpha=0.6, linewidths=0, zorder=2)
        scatter = ax.scatter(
            x[numeric], y + offsets[numeric], c=colour_value[numeric], cmap=cmap, vmin=0, vmax=1,
            s=10, alpha=0.8, linewidths=0, zorder=3,
        )  # fmt: skip
    ax.set_yticks(np.arange(len(shown))[::-1], labels, **_font_kwargs(family))
    ax.set_ylim(-0.7, len(shown) - 0.3)
    ax.set_xlabel(_TEXT["beeswarm_x"][text_lang], **_font_kwargs(family))
    ax.set_title(_TEXT["beeswarm_title"][text_lang], **_font_kwargs(family))
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(axis="y", length=0)
    if scatter is not None:
        bar = fig.colorbar(scatter, ax=ax, ticks=[0, 1], aspect=40, pad=0.01)
        bar.ax.set_yticklabels([_TEXT["low"][text_lang], _TEXT["high"][text_lang]], **_font_kwargs(family))
        bar.set_label(_TEXT["value"][text_lang], **_font_kwargs(family))
        bar.outline.set_visible(False)
    return fig


def figure_to_png(fig: Figure, *, dpi: int = 120) -> bytes:
    """PNG bytes of a figure (for reports that embed charts)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _shap_colormap():
    from matplotlib.colors import LinearSegmentedColormap

    # SHAP's blue → red: blue for low feature values, red for high.
    return LinearSegmentedColormap.from_list("kpredict_shap", ["#008bfb", "#ff0051"])


def _normalised(column: pd.Series) -> np.ndarray:
    """Feature values scaled to 0..1 between their 5th and 95th percentiles (as SHAP does); NaN where
    a value is missing or not a number."""
    if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == object or pd.api.types.is_string_dtype(column):
        numbers = pd.to_numeric(column.astype(object), errors="coerce").to_numpy(dtype=float)
    else:
        numbers = column.to_numpy(dtype=float, na_value=np.nan)
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0:
        return np.full(len(numbers), np.nan)
    low, high = np.percentile(finite, [5, 95])
    if high <= low:
        low, high = finite.min(), finite.max()
    if high <= low:
        return np.where(np.isfinite(numbers), 0.5, np.nan)
    return np.clip((numbers - low) / (high - low), 0, 1)


def _swarm_offsets(x: np.ndarray, *, bins: int = 100, width: float = 0.4) -> np.ndarray:
    """Vertical offsets that pile dots with similar x into a swarm (SHAP's binning approach)."""
    n = len(x)
    if n == 0:
        return np.zeros(0)
    span = x.max() - x.min()
    if span <= 0:
        bin_ids = np.zeros(n, dtype=np.intp)
    else:
        bin_ids = np.minimum(((x - x.min()) / span * bins).astype(np.intp), bins - 1)
    order = np.lexsort((x, bin_ids))
    sorted_bins = bin_ids[order]
    first = np.r_[0, np.flatnonzero(sorted_bins[1:] != sorted_bins[:-1]) + 1]
    rank = np.arange(n) - np.repeat(first, np.diff(np.r_[first, n]))
    # 0, +1, -1, +2, -2, ... so each pile grows symmetrically around the row's line
    level = (rank + 1) // 2 * np.where(rank % 2 == 1, 1, -1)
    offsets = np.empty(n)
    offsets[order] = level
    peak = np.abs(level).max()
    return offsets * (width / peak) if peak > 0 else offsets
