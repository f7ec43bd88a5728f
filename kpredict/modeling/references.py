"""The reference a churn classifier has to beat, fitted on the same rows in the same run.

:class:`PlainTuningLoop` is what a data scientist writes in twenty lines: optuna's TPE over
``lightgbm.LGBMClassifier``, each trial judged by the mean ROC-AUC of a ``cross_val_score``, then
one refit with the best parameters. The churn quality tests and ``benchmarks.bench_classifier``
compare :class:`~kpredict.modeling.BoostedClassifier` with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PlainTuningLoop"]


class PlainTuningLoop:
    """LightGBM tuned by ``n_trials`` optuna trials on ``inner_folds``-fold cross-validated ROC-AUC.

    The space is the usual one (trees, learning rate, leaves, leaf size, row and column sampling,
    L2); pandas ``category`` columns go to LightGBM as they are.
    """

    def __init__(self, n_trials: int = 30, inner_folds: int = 3, seed: int = 0, n_jobs: int = 2) -> None:
        self.n_trials = n_trials
        self.inner_folds = inner_folds
        self.seed = seed
        self.n_jobs = n_jobs

    def _model(self, params: dict[str, Any]):
        import lightgbm as lgb

        return lgb.LGBMClassifier(**params, subsample_freq=1, random_state=self.seed, n_jobs=self.n_jobs, verbosity=-1)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> PlainTuningLoop:
        import optuna
        from sklearn.model_selection import StratifiedKFold, cross_val_score

        folds = StratifiedKFold(self.inner_folds, shuffle=True, random_state=self.seed)

        def objective(trial: optuna.Trial) -> float:
            params = {
                "n_estimators": trial.suggest_int("n_estimators", 50, 1000, log=True),
                "learning_rate": trial.suggest_float("learning_rate", 0.005, 0.3, log=True),
                "num_leaves": trial.suggest_int("num_leaves", 4, 128, log=True),
                "min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
                "subsample": trial.suggest_float("subsample", 0.5, 1.0),
                "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
                "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 30.0, log=True),
            }
            return float(cross_val_score(self._model(params), X, y, cv=folds, scoring="roc_auc").mean())

        previous = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=self.seed))
            study.optimize(objective, n_trials=self.n_trials)
        finally:
            optuna.logging.set_verbosity(previous)
        self.best_params_ = study.best_params
        self.model_ = self._model(study.best_params).fit(X, y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities of the refitted model, shape ``(n, 2)``."""
        return self.model_.predict_proba(X)
