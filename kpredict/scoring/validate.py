"""Check a scoring input against what the model was trained on, before anything is predicted.

The rules (../shared/RELIABILITY.md, "Scoring input"): missing columns are an error that lists
what arrived; extra columns are dropped with one warning; numbers given as text are accepted when
they parse losslessly; NaN in a feature is fine; NaN or duplicate entity keys and ±inf are errors
(or, with ``bad_rows="reject"``, inf / unparseable rows are set aside with a reason); categories
never seen in training are flagged per row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kpredict.errors import SchemaError

__all__ = ["FeatureSpec", "ValidatedInput", "validate_input"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureSpec:
    """What a model expects: entity keys, numeric and categorical features (with their categories)."""

    keys: list[str]
    numeric: list[str]
    categorical: dict[str, list[str]] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def to_dict(self) -> dict:
        return {"keys": self.keys, "numeric": self.numeric, "categorical": self.categorical}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        return cls(keys=list(data["keys"]), numeric=list(data["numeric"]), categorical={k: list(v) for k, v in data["categorical"].items()})


@dataclass
class ValidatedInput:
    """Rows ready to score, rows set aside (with ``reason``), and per-row unseen-category flags."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    unseen_category: np.ndarray
    dropped_columns: list[str]


def validate_input(frame: pd.DataFrame, spec: FeatureSpec, *, strict: bool = False, bad_rows: str = "error") -> ValidatedInput:
    """Validate ``frame`` against ``spec``; never modifies ``frame``.

    Args:
        strict: extra columns are an error instead of a warning.
        bad_rows: "error" (default) or "reject" — where rows with ±inf or unparseable numbers go.

    Raises:
        SchemaError: naming the columns and what was expected (never the values).
    """
    expected = [*spec.keys, *spec.features]
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"scoring input is missing columns {missing}; got {list(frame.columns)}. "
            "Check the feature views in the pipeline config or run 'kpredict features materialize'."
        )
    nested = [c for c in expected if frame[c].dtype == object and frame[c].map(_is_nested).any()]
    if nested:
        raise SchemaError(f"scoring input columns {nested} hold nested values (lists, arrays or dicts); expected one number or text per cell")
    extra = [c for c in frame.columns if c not in expected]
    if extra and strict:
        raise SchemaError(f"scoring input has columns the model does not use: {extra} (strict mode)")
    if extra:
        logger.warning("dropping %d column(s) the model does not use: %s", len(extra), extra)
    _check_keys(frame, spec.keys)
    # Columns are collected as arrays and framed once at the end: no per-column DataFrame copies.
    columns: dict[str, object] = {key: frame[key].to_numpy() for key in spec.keys}
    reasons = pd.Series("", index=pd.RangeIndex(len(frame)), dtype=object)
    for column in spec.numeric:
        values, bad_parse = _to_float(frame[column], column)
        infinite = np.isinf(values)
        if bad_rows == "error":
            if bad_parse.any():
                raise SchemaError(
                    f"column {column!r} must be numeric; {int(bad_parse.sum())} value(s) of dtype "
                    f"{frame[column].dtype} do not parse as numbers"
                )
            if infinite.any():
                raise SchemaError(f"column {column!r} holds {int(infinite.sum())} infinite value(s); expected finite numbers or NaN")
        else:
            reasons[bad_parse] += f"{column}: not a number; "
            reasons[infinite] += f"{column}: infinite; "
        bad = bad_parse | infinite
        columns[column] = np.where(bad, np.nan, values) if bad.any() else values

    unseen = np.zeros(len(frame), dtype=bool)
    for column, categories in spec.categorical.items():
        coded, known = _recode(frame[column], categories)
        unseen |= ~known
        columns[column] = coded
    data = pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))

    rejected = (reasons != "").to_numpy() if bad_rows != "error" else np.zeros(len(frame), dtype=bool)
    rejects = frame.iloc[np.flatnonzero(rejected)][spec.keys].reset_index(drop=True)
    rejects["reason"] = reasons[rejected].str.rstrip("; ").to_numpy()
    if rejected.any():  # only then is a filtered copy needed
        data, unseen = data.loc[~rejected].reset_index(drop=True), unseen[~rejected]
    return ValidatedInput(frame=data, rejects=rejects, unseen_category=unseen, dropped_columns=extra)


def _is_nested(value: object) -> bool:
    return isinstance(value, (list, tuple, dict, set, np.ndarray))


def _recode(values: pd.Series, categories: list[str]) -> tuple[pd.Categorical, np.ndarray]:
    """Categories matched by value against the training list; (codes as Categorical, known mask).

    Missing values count as known (they are just missing); anything else outside the list is unseen.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        # map the incoming dictionary once, then the codes: cheap whatever the row count
        lookup = pd.Index(categories).get_indexer(values.cat.categories.astype(str))
        incoming = values.cat.codes.to_numpy()
        codes = np.where(incoming >= 0, lookup[np.maximum(incoming, 0)], -1)
        known = (incoming < 0) | (codes >= 0)
    else:
        text = values.astype("string")
        codes = pd.Index(categories).get_indexer(text.fillna("\x00missing"))
        known = (text.isna() | (codes >= 0)).to_numpy()
    return pd.Categorical.from_codes(np.where(codes >= 0, codes, -1), categories=categories), np.asarray(known)


def _check_keys(data: pd.DataFrame, keys: list[str]) -> None:
    null_counts = {key: int(data[key].isna().sum()) for key in keys if data[key].isna().any()}
    if null_counts:
        raise SchemaError(f"entity key column(s) have missing values (counts: {null_counts})")
    unique = pd.Index(data[keys[0]]).is_unique if len(keys) == 1 else not data.duplicated(keys).any()
    if unique:
        return
    duplicated = int(data.duplicated(keys).sum())
    if duplicated:
        raise SchemaError(f"entity key {keys} has {duplicated} duplicated row(s); each entity is scored once")


def _to_float(values: pd.Series, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Numbers as float64, and a mask of values that are present but do not parse."""
    if values.dtype == np.float64:  # already what the model reads: no copy
        return values.to_numpy(), np.zeros(len(values), dtype=bool)
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(values), dtype=bool)
    text = values.astype("string").str.strip()
    parsed = pd.to_numeric(text, errors="coerce")
    blank = text.isna() | (text == "")
    bad = (parsed.isna() & ~blank).to_numpy()
    return parsed.to_numpy(dtype=np.float64, na_value=np.nan), bad
