"""A logistic-regression classifier with the same contract as BoostedClassifier, and exact reasons.

Why it exists: on some data a plain logistic regression ranks the list better than tuned trees
(the churn demo's baseline did, at the retention team's capacity). When it does, it is the model
that serves, so it needs what the served model gives: ``predict_proba``, per-feature
``contributions`` that add up to the margin (for reasons in plain words), ``feature_names_in_`` and
``categories_`` (for the scoring input's checks), and a file format without pickle (skops).

With ``spline_knots`` set, each number enters as a smooth curve (cubic B-splines, flat beyond the
training range) instead of a straight line: a generalised additive model, still one term per
feature. On the Telco churn table it ranks about as well as a tuned LightGBM (ROC-AUC 0.8493 with
6 knots against 0.8501 over five folds; the straight-line logistic 0.8453;
``benchmarks/bench_churn_ceiling.py``).

A feature's contribution is the sum over the columns it produced (a scaled number or its spline
columns and its missing-value flag, or its one-hot columns) of ``coef * (value - training mean)``;
the base value is the margin at the training means. So contributions + base value = the decision
function, exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["LinearClassifier"]

MISSING = "(missing)"


class LinearClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression on scaled numbers (median-imputed, with missing flags) and one-hot categories.

    Args:
        C: inverse L2 strength, as in scikit-learn's LogisticRegression.
        max_iter: solver iterations.
        random_state: the solver's seed.
        spline_knots: 0 for a straight line per number; otherwise the knots of each number's cubic
            spline (``SplineTransformer``, evenly spaced over the training range).

    Attributes:
        feature_names_in_: input columns, in order.
        categories_: categorical column → its training categories (pandas ``category`` inputs).
        classes_: the two class labels.
    """

    def __init__(self, C: float = 1.0, max_iter: int = 2000, random_state: int = 0, spline_knots: int = 0) -> None:
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state
        self.spline_knots = spline_knots

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LinearClassifier:
        """Fit on a frame whose categorical columns have the pandas ``category`` dtype."""
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

        if not isinstance(self.spline_knots, int | np.integer) or self.spline_knots == 1 or self.spline_knots < 0:
            raise ValueError(f"spline_knots must be 0 (straight lines) or an integer >= 2; got {self.spline_knots!r}")
        self.feature_names_in_ = np.array(list(X.columns), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.categories_ = {c: [str(v) for v in X[c].cat.categories] for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)}
        self.numeric_ = [c for c in X.columns if c not in self.categories_]
        self.imputer_ = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
        self.scaler_ = StandardScaler()
        self.splines_ = SplineTransformer(n_knots=self.spline_knots, degree=3, extrapolation="constant") if self.spline_knots else None
        if self.numeric_:
            imputed = self.imputer_.fit_transform(self._numbers(X))
            if self.splines_ is not None:
                self.splines_.fit(imputed[:, : len(self.numeric_)])
            else:
                self.scaler_.fit(imputed)
        self.encoder_ = OneHotEncoder(
            categories=[[*cats, MISSING] for cats in self.categories_.values()], handle_unknown="ignore", sparse_output=False
        )
        if self.categories_:
            self.encoder_.fit(self._labels(X))
        self.owner_ = self._column_owners()
        design = self._design(X)
        self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.random_state).fit(design, y)
        self.classes_ = self.model_.classes_
        self.mean_design_ = design.mean(axis=0)
        return self

    def __setstate__(self, state: dict) -> None:
        """Models saved before the curves existed have straight lines."""
        super().__setstate__({"spline_knots": 0, "splines_": None, **state})

    # ------------------------------------------------------------------ design matrix
    def _numbers(self, X: pd.DataFrame) -> np.ndarray:
        return X[self.numeric_].to_numpy(dtype=np.float64, na_value=np.nan)

    def _labels(self, X: pd.DataFrame) -> np.ndarray:
        columns = [X[c].astype(object).where(X[c].notna(), MISSING).astype(str).to_numpy() for c in self.categories_]
        return np.column_stack(columns) if columns else np.empty((len(X), 0), dtype=object)

    def _design(self, X: pd.DataFrame) -> np.ndarray:
        parts = []
        if self.numeric_:
            imputed = self.imputer_.transform(self._numbers(X))
            if self.splines_ is not None:  # the curves, then the missing-value flags as they are
                parts += [self.splines_.transform(imputed[:, : len(self.numeric_)]), imputed[:, len(self.numeric_):]]
            else:
                parts.append(self.scaler_.transform(imputed))
        if self.categories_:
            parts.append(self.encoder_.transform(self._labels(X)))
        return np.hstack(parts) if parts else np.empty((len(X), 0))

    def _column_owners(self) -> np.ndarray:
        """For every design column, the index (in ``feature_names_in_``) of the feature it came from."""
        position = {name: i for i, name in enumerate(self.feature_names_in_)}
        per_number = self.splines_.n_features_out_ // len(self.numeric_) if self.splines_ is not None and self.numeric_ else 1
        owners = [position[c] for c in self.numeric_ for _ in range(per_number)]
        if self.numeric_ and self.imputer_.indicator_ is not None:
            owners += [position[self.numeric_[i]] for i in self.imputer_.indicator_.features_]
        for column, cats in self.categories_.items():
            owners += [position[column]] * (len(cats) + 1)
        return np.asarray(owners, dtype=np.int64)

    # ------------------------------------------------------------------ predict
    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The margin (log-odds of the positive class).

        Summed row by row rather than by a matrix product: BLAS may add in another order for
        another number of rows, and a row's score must not depend on its batch (chunked scoring).
        """
        check_is_fitted(self)
        design = self._design(X[list(self.feature_names_in_)])
        return (design * self.model_.coef_[0]).sum(axis=1) + self.model_.intercept_[0]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities, shape ``(n, 2)``; column 1 is ``classes_[1]``."""
        positive = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The more probable class; ties go to ``classes_[0]``."""
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Per-feature contributions to the margin, then the base value (last column); rows sum to the margin."""
        check_is_fitted(self)
        design = self._design(X[list(self.feature_names_in_)])
        coef = self.model_.coef_[0]
        weighted = (design - self.mean_design_) * coef
        out = np.zeros((len(design), self.n_features_in_ + 1))
        np.add.at(out.T, self.owner_, weighted.T)
        out[:, -1] = self.model_.intercept_[0] + float(coef @ self.mean_design_)
        return out
