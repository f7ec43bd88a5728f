"""The MLflow pyfunc of every kpredict model, logged as *code* (MLflow "models from code").

Why code and not a pickled object: loading runs this file, which reads ``kpredict_model.json`` and
calls the loader it names (LightGBM text, JSON arrays, skops files), so the model loads with
``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false`` and ``mlflow models predict`` works on a table.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class KPredictPyfunc(PythonModel):
    """Loads the model through its declared loader and predicts through its declared predictor."""

    def load_context(self, context) -> None:
        from kpredict.scoring.kinds import read_meta
        from kpredict.scoring.packaging import load_packaged

        directory = Path(context.artifacts["model_dir"])
        self.meta = read_meta(directory)
        self.estimator = load_packaged(directory, self.meta)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from kpredict.scoring.packaging import predict_packaged

        return predict_packaged(self.estimator, model_input, self.meta)


mlflow.models.set_model(KPredictPyfunc())
