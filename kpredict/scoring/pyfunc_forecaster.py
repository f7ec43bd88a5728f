"""MLflow pyfunc of a kpredict forecaster, logged as code (see pyfunc_classifier.py for why).

Input: the sales history as a long frame (``unique_id, ds, y`` plus known-future columns such as
``holiday``); output: ``horizon`` forecasts per series with conformal intervals. The known-future
columns of the forecast dates are taken as 0 ("no holiday") when not given; pass them through
``kpredict score sales_forecast`` to use the holiday calendar.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class ForecasterPyfunc(PythonModel):
    """Checks the history with the forecasting input rules, then forecasts."""

    def load_context(self, context) -> None:
        from kpredict.forecasting import Forecaster

        directory = Path(context.artifacts["model_dir"])
        self.meta = json.loads((directory / "kpredict_model.json").read_text(encoding="utf-8"))
        self.forecaster = Forecaster.from_artifacts(directory)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from kpredict.forecasting import prepare_series

        settings = self.forecaster.settings
        covariates = list(self.meta.get("known_future", []))
        history = prepare_series(model_input, freq=settings.freq, extra_columns=[c for c in covariates if c in model_input.columns])
        for column in covariates:
            if column not in history.columns:
                history[column] = 0.0
        future = None
        if covariates:
            index = self.forecaster.future_index(history).to_frame(index=False)
            future = index.assign(**{column: 0.0 for column in covariates})
        return self.forecaster.predict(history, future=future)


mlflow.models.set_model(ForecasterPyfunc())
