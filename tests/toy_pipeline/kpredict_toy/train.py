"""Toy recipe: read the CSV, hold out the last fifth, fit a ridge regression, publish."""

from pathlib import Path

import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score

from kpredict.hashing import frame_hash
from kpredict.scoring.packaging import PackagedModel
from kpredict.tracking import training_run
from kpredict.tracking.publish import Gate, publish

FEATURES = ["x1", "x2"]


def read(config) -> pd.DataFrame:
    return pd.read_csv(Path(config.data_dir) / config.source)


def _train(name: str, config, force: bool, overrides: dict):
    from kpredict.pipeline import get_pipeline

    config = get_pipeline(name).load_config(config, **overrides)
    frame = read(config)
    cut = int(len(frame) * 0.8)
    train, holdout = frame.iloc[:cut], frame.iloc[cut:]
    with training_run(name, config, seed=0, inputs={"toy": frame}) as run:
        model = Ridge(alpha=config.alpha).fit(train[FEATURES], train["y"])
        value = r2_score(holdout["y"], model.predict(holdout[FEATURES]))
        run.log_metrics({"holdout_r2": value, "trials": config.search.trials})
        meta = {
            "pipeline": name,
            "prediction_column": "y_hat",
            "method": "predict",
            "feature_spec": {"keys": ["id"], "numeric": FEATURES, "categorical": {}},
        }
        packaged = PackagedModel(model, "sklearn", meta, holdout.head(3), outputs=[("y_hat", "double"), ("unseen_category", "boolean")], libraries=["scikit-learn", "pandas", "numpy"])
        gate = Gate("r2", value, frame_hash(holdout), rescore=lambda champion: r2_score(holdout["y"], champion.predict(holdout[FEATURES])))
        return publish(run, packaged, gate, metrics={"holdout_r2": value}, force=force)


def train_row(config=None, *, force=False, **overrides):
    return _train("toy", config, force, overrides)


def train_frame(config=None, *, force=False, **overrides):
    return _train("toy_frame", config, force, overrides)
