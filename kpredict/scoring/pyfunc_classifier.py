"""MLflow pyfunc of a kpredict classifier, logged as *code* (MLflow "models from code").

Why code and not a pickled object: loading runs this file and reads the booster as LightGBM text
and the calibrator as JSON arrays, so the model loads with
``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false`` and ``mlflow models predict`` works on a features table.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class ClassifierPyfunc(PythonModel):
    """Validates the features table like ``kpredict score`` does, then predicts probabilities."""

    def load_context(self, context) -> None:
        from kpredict.modeling import BoostedClassifier

        directory = Path(context.artifacts["model_dir"])
        self.meta = json.loads((directory / "kpredict_model.json").read_text(encoding="utf-8"))
        self.estimator = BoostedClassifier.from_artifacts(directory)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from kpredict.scoring.validate import FeatureSpec, validate_input

        spec = FeatureSpec.from_dict(self.meta["feature_spec"])
        frame = model_input if all(key in model_input.columns for key in spec.keys) else model_input.assign(**{k: range(len(model_input)) for k in spec.keys})
        validated = validate_input(frame, spec)
        probability = self.estimator.predict_proba(validated.frame[spec.features])[:, 1]
        return pd.DataFrame({self.meta["prediction_column"]: probability, "unseen_category": validated.unseen_category})


mlflow.models.set_model(ClassifierPyfunc())
