"""Real churn tables through the path a data scientist uses: ``kpredict train churn --table``.

Each set is split once into a part the pipeline trains on (a table it is given whole: it carves its
own holdout out of it) and a test part it never sees, scored afterwards with
``score(..., table=test file)`` as a new table. On the same split, in the same test, the references
are fitted on the whole training part: a one-hot logistic regression and LightGBM with its default
parameters.

- BigML telecom churn: the files' own 80 / 20 split (``churn-bigml-80.csv`` / ``-20.csv``).
- IBM Telco: ``train_test_split(test_size=0.2, random_state=1)``, the split of the published
  logistic-regression reference (test ROC-AUC 0.857, ../shared/data/SOURCES.md).

Without a time column the pipeline keeps 20 % of the table as the gate's holdout and
cross-validates the other 80 % (5 folds tune LightGBM, calibrate it and choose between it and the
logistic baseline, out of fold); the 5 fold models serve together. Measured: BigML 0.9153
(LightGBM served) against default LightGBM 0.9137 and logistic 0.8148; Telco 0.8600 (the baseline
served, as it ranks Telco better: a logistic regression with a smooth curve per number) against the
one-hot logistic 0.8584 and default LightGBM 0.8518. With straight lines for the baseline's numbers
Telco was 0.8578; before cross-validation (60 % train, 20 % validation) the split gave BigML 0.9086
and Telco 0.8574. The test asserts those figures: the floor and the gap to the best reference,
each the measured one rounded outwards (each set must beat the best reference by 0.001).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from conftest import shared_data

FLOORS = {"bigml": 0.915, "telco": 0.859}
GAPS = {"bigml": -0.001, "telco": -0.001}  # at most this far below the best reference (negative: above it)


@pytest.fixture()
def own_mlflow(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("KPREDICT_MODELS_DIR", str(tmp_path / "models"))
    from kpredict.tracking.store import configure

    configure()
    return tmp_path


def split_set(name: str, tmp) -> tuple[str, str, str, str | None]:
    """(train file, test file, target, id column) of one set, written where the test can read them."""
    if name == "bigml":
        return str(shared_data("churn/bigml/churn-bigml-80.csv")), str(shared_data("churn/bigml/churn-bigml-20.csv")), "Churn", None
    frame = pd.read_csv(shared_data("churn/Telco-Customer-Churn.csv"))
    train, test = train_test_split(frame, test_size=0.2, random_state=1)
    train.to_csv(tmp / "telco_train.csv", index=False)
    test.to_csv(tmp / "telco_test.csv", index=False)
    return str(tmp / "telco_train.csv"), str(tmp / "telco_test.csv"), "Churn", "customerID"


def references(train: pd.DataFrame, test: pd.DataFrame, target: str, drop: list[str]) -> dict[str, float]:
    """One-hot logistic regression and default LightGBM on the whole training part."""
    import lightgbm as lgb
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def prepared(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.drop(columns=[target, *drop]).copy()
        if "TotalCharges" in frame:
            frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"].str.strip().replace("", np.nan))
        return frame

    y_train = (train[target].astype(str).isin(["Yes", "True"])).astype(int)
    y_test = (test[target].astype(str).isin(["Yes", "True"])).astype(int)
    X_train, X_test = prepared(train), prepared(test)
    categorical = [c for c in X_train.columns if X_train[c].dtype == object]
    numeric = [c for c in X_train.columns if c not in categorical]
    logistic = Pipeline([
        ("prepare", ColumnTransformer([
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("numeric", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
        ])),
        ("model", LogisticRegression(max_iter=2000)),
    ]).fit(X_train, y_train)
    for column in categorical:
        kinds = sorted(X_train[column].dropna().unique())
        X_train[column] = pd.Categorical(X_train[column], categories=kinds)
        X_test[column] = pd.Categorical(X_test[column], categories=kinds)
    boosted = lgb.LGBMClassifier(verbose=-1, random_state=0).fit(X_train, y_train)
    return {
        "logistic": roc_auc_score(y_test, logistic.predict_proba(X_test)[:, 1]),
        "lightgbm_default": roc_auc_score(y_test, boosted.predict_proba(X_test)[:, 1]),
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bigml", "telco"])
def test_a_real_table_through_the_table_path_stays_near_the_best_reference(name, own_mlflow, tmp_path) -> None:
    from kpredict import score
    from kpredict.pipelines.churn import PIPELINE

    train_path, test_path, target, id_column = split_set(name, tmp_path)
    table = {"path": train_path, "target": target} | ({"id": id_column} if id_column else {})
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    config = PIPELINE.load_config(os.path.join(repo, "configs", "churn.yaml"), feature_store_dir=str(tmp_path / "store"), table=table)
    result = PIPELINE.train(config)
    scored = score("churn", "2026-12-01", model=result.model_version, config=config, table=test_path, explain_top=0, output_dir=tmp_path / "out")

    train, test = pd.read_csv(train_path), pd.read_csv(test_path)
    keys = test[id_column].astype(str) if id_column else pd.Series(np.arange(1, len(test) + 1)).astype(str)
    probability = pd.read_parquet(scored.output).set_index("customer_id")["churn_probability"].reindex(keys).to_numpy()
    y_test = test[target].astype(str).isin(["Yes", "True"]).astype(int)
    ours = roc_auc_score(y_test, probability)
    reference = references(train, test, target, [id_column] if id_column else [])
    print(f"{name}: table path {ours:.4f} (served {result.metrics['served_logistic'] and 'logistic' or 'LightGBM'}); "
          f"logistic {reference['logistic']:.4f}, default LightGBM on the whole training part {reference['lightgbm_default']:.4f}")
    assert not np.isnan(probability).any()
    assert ours >= max(reference.values()) - GAPS[name]
    assert ours >= FLOORS[name]
