"""Per-row top reasons: which features push each row's score up most, written as sentences.

Input is LightGBM's ``pred_contrib`` output (the same numbers as SHAP's TreeExplainer): one column
per feature plus the base value last, on the raw-score (log-odds) scale. Selection is vectorised
over the whole matrix; sentences are rendered once per distinct (feature, value) pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from kpredict.errors import ConfigError, SchemaError
from kpredict.explain.formatting import describe, format_cell, sentence, value_kind
from kpredict.features.definitions import Feature

__all__ = ["reason_columns", "top_reasons"]

_FIELDS = ("feature", "value", "shap", "en", "zh")


def reason_columns(k: int) -> list[str]:
    """``reason_1_feature, reason_1_value, reason_1_shap, reason_1_en, reason_1_zh, reason_2_...``."""
    return [f"reason_{i}_{field}" for i in range(1, k + 1) for field in _FIELDS]


def top_reasons(
    contributions: np.ndarray,
    values: pd.DataFrame,
    features: Mapping[str, Feature],
    *,
    k: int = 3,
    direction: Literal["increase", "both"] = "increase",
    effect_words: Mapping[str, Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """The ``k`` features that move each row's score most, with their values in business words.

    Args:
        contributions: ``(n_rows, n_features + 1)`` per-feature contributions with the base value
            last (LightGBM ``predict(..., pred_contrib=True)`` or SHAP values + expected value).
        values: the feature values the model saw, same rows, columns = features in contribution order.
        features: feature definitions by name (from ``FeatureRepoConfig``); a feature without one
            is described by its name and written by its values' type.
        k: reasons per row.
        direction: ``"increase"`` — only features that raise the score (churn risk), largest first;
            ``"both"`` — features moving the score either way, largest absolute contribution first.
        effect_words: what raising and lowering the score means, ``{"up": {"en": ..., "zh": ...},
            "down": {...}}`` (churn: "raises the risk" / "提高流失风险"); added to each sentence in
            brackets, so a reason says which way it pushes. None: the sentence states the fact only.

    Returns:
        One row per input row (same index) with, for i in 1..k, ``reason_i_feature``,
        ``reason_i_value`` (language-neutral text), ``reason_i_shap`` (the contribution, unchanged),
        ``reason_i_en`` and ``reason_i_zh`` (sentences). Rows with fewer than i qualifying features
        get empty strings and NaN. Ties go to the feature that comes first.

    Raises:
        SchemaError: the shapes of ``contributions`` and ``values`` disagree, or contributions are
            not finite.
        ConfigError: ``k`` < 1 or an unknown ``direction``.

    Examples:
        >>> reasons = top_reasons(booster.predict(X, pred_contrib=True), X, repo_features, k=3)
        >>> reasons.loc[0, "reason_1_en"]
        'orders in the last 30 days vs the 90-day monthly average: down 62%'
    """
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"k must be a positive integer (reasons per row); got type {type(k).__name__}")
    if direction not in ("increase", "both"):
        raise ConfigError(f"direction must be 'increase' or 'both'; got {direction!r}")
    shap = _feature_contributions(contributions, values)
    n_rows, n_features = shap.shape
    k = int(k)
    slots = min(k, n_features)

    if direction == "increase":
        key = np.where(shap > 0, shap, -np.inf)
    else:
        key = np.where(shap != 0, np.abs(shap), -np.inf)
    chosen = _top_k(key, slots)  # (n_rows, slots) feature positions, best first
    present = np.isfinite(np.take_along_axis(key, chosen, axis=1))

    names = [str(column) for column in values.columns]
    kinds = [_kind(features.get(name), values.iloc[:, position]) for position, name in enumerate(names)]
    descriptions = {lang: [describe(name, features, lang) for name in names] for lang in ("en", "zh")}
    labels = [getattr(features.get(name), "value_labels", None) or {} for name in names]
    renderer = _Renderer(values, kinds, descriptions, labels)

    out: dict[str, np.ndarray] = {}
    for slot in range(k):
        if slot < slots:
            positions = np.where(present[:, slot], chosen[:, slot], -1)
            feature_col = np.array([""] + names, dtype=object)[positions + 1]
            shap_col = np.where(present[:, slot], np.take_along_axis(shap, chosen[:, slot : slot + 1], 1)[:, 0], np.nan)
            value_col, en_col, zh_col = renderer.render(positions)
            if effect_words is not None:
                en_col, zh_col = _with_effect(en_col, zh_col, shap_col, effect_words)
        else:
            feature_col = value_col = en_col = zh_col = np.full(n_rows, "", dtype=object)
            shap_col = np.full(n_rows, np.nan)
        prefix = f"reason_{slot + 1}_"
        out[prefix + "feature"] = feature_col
        out[prefix + "value"] = value_col
        out[prefix + "shap"] = shap_col.astype(np.float64)
        out[prefix + "en"] = en_col
        out[prefix + "zh"] = zh_col
    return pd.DataFrame(out, index=values.index, columns=reason_columns(k))


def _feature_contributions(contributions: np.ndarray, values: pd.DataFrame) -> np.ndarray:
    if not isinstance(values, pd.DataFrame):
        raise SchemaError(f"values must be a pandas DataFrame of feature values; got {type(values).__name__}")
    matrix = np.asarray(contributions)
    if matrix.ndim != 2:
        raise SchemaError(
            f"contributions must be a 2-D array (n_rows, n_features + 1); got {matrix.ndim} dimension(s). "
            "For a multiclass model pass one class's contributions."
        )
    n_rows, n_features = values.shape
    if matrix.shape != (n_rows, n_features + 1):
        raise SchemaError(
            f"contributions have shape {matrix.shape}, expected ({n_rows}, {n_features + 1}): one row per row "
            "of values and one column per feature plus the base value last (LightGBM pred_contrib=True)"
        )
    if values.columns.has_duplicates:
        duplicated = sorted({str(c) for c in values.columns[values.columns.duplicated()]})
        raise SchemaError(f"values have duplicated feature columns {duplicated}; each feature must appear once")
    shap = matrix[:, :n_features].astype(np.float64, copy=False)
    bad = int(np.size(shap) - np.count_nonzero(np.isfinite(shap)))
    if bad:
        raise SchemaError(f"contributions hold {bad} non-finite value(s) (NaN or infinite); expected finite numbers")
    return shap


_BRACKETS = {"en": (" (", ")"), "zh": ("（", "）")}


def _with_effect(en: np.ndarray, zh: np.ndarray, shap: np.ndarray, words: Mapping[str, Mapping[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Sentences with which way each one pushes the score, in brackets (blank slots stay blank)."""
    out = []
    for lang, column in (("en", en), ("zh", zh)):
        open_, close = _BRACKETS[lang]
        effect = np.where(shap > 0, f"{open_}{words['up'][lang]}{close}", f"{open_}{words['down'][lang]}{close}")
        out.append(np.where(column != "", column + effect, column).astype(object))
    return out[0], out[1]


def _kind(feature: Feature | None, column: pd.Series) -> str:
    """How a column's values are written; a feature without a definition goes by its dtype."""
    kind = value_kind(feature)
    if kind != "auto":
        return kind
    if pd.api.types.is_bool_dtype(column.dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(column.dtype):
        return "number"
    return "auto"  # object / category: decided value by value


def _top_k(key: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest entries of each row, largest first, ties by position.

    ``argpartition`` finds each row's top set in linear time; a row where that set cut through a
    tie (an equal value left out at a lower position) is re-ranked with a stable sort.
    """
    n_rows, n_cols = key.shape
    if n_rows == 0 or k == 0:
        return np.zeros((n_rows, k), dtype=np.intp)
    if k >= n_cols:
        return np.argsort(-key, axis=1, kind="stable")[:, :k]
    chosen = np.argpartition(-key, k - 1, axis=1)[:, :k]
    chosen_key = np.take_along_axis(key, chosen, axis=1)
    order = np.lexsort((chosen, -chosen_key), axis=1)
    chosen = np.take_along_axis(chosen, order, axis=1)
    threshold = np.take_along_axis(key, chosen[:, -1:], axis=1)
    at_threshold = key == threshold
    cut = np.count_nonzero(at_threshold, axis=1) > np.count_nonzero(
        np.take_along_axis(at_threshold, chosen, axis=1), axis=1
    )
    cut &= np.isfinite(threshold[:, 0])  # ties among excluded (-inf) entries do not matter
    if cut.any():
        chosen[cut] = np.argsort(-key[cut], axis=1, kind="stable")[:, :k]
    return chosen


class _Renderer:
    """Texts for selected cells, each distinct (feature, value) formatted once and reused."""

    def __init__(self, values: pd.DataFrame, kinds: list[str], descriptions: dict[str, list[str]], labels: list[Mapping[str, object]]) -> None:
        self._values = values
        self._kinds = kinds
        self._labels = labels
        self._descriptions = descriptions
        self._columns: dict[int, np.ndarray] = {}
        self._cache: dict[int, dict[object, tuple[str, str, str]]] = {}

    def _column(self, position: int) -> np.ndarray:
        if position not in self._columns:
            column = self._values.iloc[:, position]
            if isinstance(column.dtype, pd.CategoricalDtype):
                column = column.astype(object)
            self._columns[position] = column.to_numpy()
        return self._columns[position]

    def render(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_rows = len(positions)
        value_col = np.full(n_rows, "", dtype=object)
        en_col = np.full(n_rows, "", dtype=object)
        zh_col = np.full(n_rows, "", dtype=object)
        order = np.argsort(positions, kind="stable")
        sorted_positions = positions[order]
        starts = np.flatnonzero(np.r_[True, sorted_positions[1:] != sorted_positions[:-1]]) if n_rows else []
        ends = np.r_[starts[1:], n_rows] if n_rows else []
        for start, end in zip(starts, ends):
            position = int(sorted_positions[start])
            if position < 0:
                continue
            rows = order[start:end]
            codes, uniques = pd.factorize(self._column(position)[rows], use_na_sentinel=True)
            texts = [self._texts(position, value) for value in uniques]
            texts.append(self._texts(position, None))  # code -1: missing
            table = np.array(texts, dtype=object)  # (n_unique + 1, 3)
            picked = table[codes]
            value_col[rows] = picked[:, 0]
            en_col[rows] = picked[:, 1]
            zh_col[rows] = picked[:, 2]
        return value_col, en_col, zh_col

    def _texts(self, position: int, value: object) -> tuple[str, str, str]:
        cache = self._cache.setdefault(position, {})
        key = "\0missing" if value is None else value
        texts = cache.get(key)
        if texts is None:
            neutral, en, zh = format_cell(value, self._kinds[position], self._labels[position])
            texts = (
                neutral,
                sentence(self._descriptions["en"][position], en, "en"),
                sentence(self._descriptions["zh"][position], zh, "zh"),
            )
            cache[key] = texts
        return texts
