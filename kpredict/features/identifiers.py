"""Columns that name rows instead of describing them: identifiers, names, row numbers.

A name or an identifier is no feature. A model learns nothing from it that holds for a row it has
not seen: at scoring most values are new, the category is unseen, and the drift check fires on it.
A column is taken for one when its values cannot recur:

- numbers: a different whole number on every row (a row or customer number);
- text: most rows hold a value no other row holds, or many rows (``UNSEEN_SHARE``) hold a value
  that the other folds of a 5-fold split never saw (a surname: common ones recur, but a fifth of
  the rows meet a name first seen at scoring).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["UNSEEN_SHARE", "identifier_reason"]

#: the share of rows whose value the rest of the table never saw, past which text names rows
UNSEEN_SHARE = 0.10
_MIN_DISTINCT = 20  # fewer distinct values are a category, however rare each is
_FOLDS = 5


def identifier_reason(values: pd.Series, *, seed: int = 0) -> str | None:
    """Why ``values`` look like an identifier or a name (a sentence), or None for a usable column."""
    present = values.dropna()
    distinct = present.nunique()
    if len(present) <= _MIN_DISTINCT or distinct <= _MIN_DISTINCT:
        return None
    if pd.api.types.is_bool_dtype(present):
        return None
    if pd.api.types.is_numeric_dtype(present):
        numbers = present.to_numpy(dtype=np.float64)
        if distinct == len(present) and np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)):
            return f"a different whole number on each of its {len(present):,} rows (a row or customer number)"
        return None
    text = present.astype(str)
    counts = text.map(text.value_counts())
    single = float((counts == 1).mean())
    if single > 0.5:
        return f"{single:.0%} of its rows hold a value no other row has ({distinct:,} distinct values)"
    unseen = _unseen_share(text.to_numpy(), seed)
    if unseen > UNSEEN_SHARE:
        return f"{unseen:.0%} of rows hold a value the other folds of a {_FOLDS}-fold split never saw ({distinct:,} distinct values)"
    return None


def _unseen_share(values: np.ndarray, seed: int) -> float:
    """The share of rows whose value occurs in no other fold of a shuffled 5-fold split."""
    fold = np.random.default_rng(seed).permutation(len(values)) % _FOLDS
    frame = pd.DataFrame({"value": values, "fold": fold})
    folds_per_value = frame.groupby("value")["fold"].nunique()
    return float((frame["value"].map(folds_per_value) == 1).mean())
