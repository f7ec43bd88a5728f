"""DataFrame → float matrix for LightGBM, with categories fixed at fit.

LightGBM predicts by column position and, for categoricals, by integer code. Both are decided
here, once, at fit time: columns are taken by name in the training order, and every categorical
column is re-coded *by value* against the training category list, so the incoming column's dtype,
category order or codes can never change a prediction. Unseen categories become NaN (missing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kpredict.errors import SchemaError

__all__ = ["encode_frame", "learn_schema", "lightgbm_feature_names"]

_JSON_NATIVE = (str, bool, int, float)


def _require_frame(X: Any, what: str) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise SchemaError(
            f"BoostedClassifier needs a pandas DataFrame with named columns for {what}; "
            f"got {type(X).__name__}. Wrap the array with pd.DataFrame(X, columns=[...])."
        )
    names = list(X.columns)
    bad = [name for name in names if not isinstance(name, str)]
    if bad:
        raise SchemaError(
            f"{what} has {len(bad)} column name(s) that are not strings (e.g. {bad[:3]!r}); "
            "rename the columns to strings."
        )
    if len(set(names)) != len(names):
        duplicated = sorted({name for name in names if names.count(name) > 1})
        raise SchemaError(f"{what} has duplicated column names {duplicated}; make them unique.")
    return X


def _is_categorical(series: pd.Series) -> bool:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return False
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return True
    raise SchemaError(
        f"column {series.name!r} has dtype {dtype}, which BoostedClassifier cannot use; expected a "
        "numeric, boolean, category, string or object column. Derive numeric features from it first."
    )


def _observed_categories(series: pd.Series) -> list[Any]:
    values = pd.unique(series.dropna().to_numpy(dtype=object))
    native = []
    for value in values:
        value = value.item() if isinstance(value, np.generic) else value
        if not isinstance(value, _JSON_NATIVE):
            raise SchemaError(
                f"categorical column {series.name!r} holds values of type {type(value).__name__}; "
                "only str, int, float and bool categories are supported. Convert the column to strings."
            )
        native.append(value)
    try:
        # Sorted by value so that the training codes do not depend on the row or dtype order.
        return sorted(native)
    except TypeError:  # mixed types that do not compare: keep the order of first appearance
        return native


def learn_schema(X: pd.DataFrame) -> tuple[list[str], dict[str, list[Any]]]:
    """Feature names in training order and, per categorical column, the categories seen."""
    X = _require_frame(X, "the training input")
    if X.shape[1] == 0:
        raise SchemaError("the training input has no columns; expected at least one feature.")
    names = list(X.columns)
    categories = {name: _observed_categories(X[name]) for name in names if _is_categorical(X[name])}
    return names, categories


def encode_frame(
    X: pd.DataFrame,
    feature_names: Sequence[str],
    categories: Mapping[str, Sequence[Any]],
    *,
    what: str = "the scoring input",
) -> np.ndarray:
    """A column-major float64 matrix in training column order; categoricals as training codes."""
    X = _require_frame(X, what)
    missing = [name for name in feature_names if name not in X.columns]
    if missing:
        shown = list(X.columns)[:20]
        more = f" (+{X.shape[1] - 20} more)" if X.shape[1] > 20 else ""
        raise SchemaError(
            f"{what} is missing columns {missing}; got {shown}{more}. The model needs all "
            f"{len(feature_names)} training features (extra columns are ignored)."
        )
    # Column-major: every column is one contiguous write, and LightGBM reads a Fortran-ordered
    # matrix as it is (column-major layout), so no transposing copy is made on either side.
    matrix = np.empty((len(X), len(feature_names)), dtype=np.float64, order="F")
    for position, name in enumerate(feature_names):
        series = X[name]
        if name in categories:
            matrix[:, position] = _encode_categorical(series, categories[name])
            continue
        try:
            matrix[:, position] = series.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise SchemaError(
                f"column {name!r} of {what} was numeric at fit but cannot be converted to numbers "
                f"now (dtype {series.dtype}); pass it with a numeric dtype."
            ) from exc
    return matrix


def _encode_categorical(series: pd.Series, training_categories: Sequence[Any]) -> np.ndarray:
    index = pd.Index(list(training_categories), dtype=object)
    if isinstance(series.dtype, pd.CategoricalDtype):
        # Map the incoming dtype's categories to training codes by value, then take by code.
        mapping = index.get_indexer(series.cat.categories.astype(object))
        codes = series.cat.codes.to_numpy()
        if len(mapping) == 0:
            encoded = np.full(len(series), -1, dtype=np.int64)
        else:
            encoded = np.where(codes >= 0, mapping[np.maximum(codes, 0)], -1)
    else:
        encoded = index.get_indexer(series.to_numpy(dtype=object))
    out = encoded.astype(np.float64)
    out[encoded < 0] = np.nan  # unseen category or missing → missing for LightGBM
    return out


_UNSAFE = re.compile(r"[^0-9A-Za-z_.\-]")


def lightgbm_feature_names(feature_names: Sequence[str]) -> list[str]:
    """Names LightGBM accepts (no JSON special characters); positional if cleaning collides."""
    cleaned = [_UNSAFE.sub("_", name) or "_" for name in feature_names]
    if len(set(cleaned)) != len(cleaned):
        return [f"f{i}" for i in range(len(feature_names))]
    return cleaned
