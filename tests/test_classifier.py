"""BoostedClassifier: schema handling, calibration, explanations, artifacts, determinism, sklearn."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.utils.validation import check_is_fitted

from kpredict.errors import ConfigError, ModelNotFoundError, SchemaError
from kpredict.modeling import BoostedClassifier, Calibrator
from kpredict.modeling._frame import encode_frame
from kpredict.modeling.classifier import _select_calibrator

FAST = {"n_trials": 4, "early_stopping_rounds": 20, "max_rounds": 400}


def make_data(n: int = 2000, seed: int = 0, base_rate: float = -1.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Known logistic signal: two numerics, a category-dtype and an object categorical, some NaN."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    spend = rng.gamma(2.0, 20.0, n)
    plan = rng.choice(["basic", "plus", "premium"], n, p=[0.5, 0.3, 0.2])
    region = rng.choice(["north", "south", "east", "west"], n)
    noise = rng.normal(size=n)  # an irrelevant feature
    logit = base_rate + 0.08 * (age - 40) - 0.02 * (spend - 40) + np.select(
        [plan == "basic", plan == "plus"], [0.8, 0.0], -0.8
    ) + np.where(region == "south", 0.5, 0.0)
    y = (rng.random(n) < expit(logit)).astype(int)
    spend[rng.random(n) < 0.05] = np.nan
    X = pd.DataFrame(
        {
            "age": age,
            "spend": spend,
            "plan": pd.Categorical(plan, categories=["basic", "plus", "premium"]),
            "region": region.astype(object),
            "noise": noise,
        }
    )
    return X, y


@pytest.fixture(scope="module")
def data():
    X, y = make_data(2000, seed=0)
    X_new, y_new = make_data(2000, seed=1)
    return X, y, X_new, y_new


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _, _ = data
    return BoostedClassifier(seed=0, **FAST).fit(X, y)


def test_fit_returns_self_with_learned_attributes(data):
    X, y, X_new, y_new = data
    model = BoostedClassifier(seed=0, **FAST)
    assert model.fit(X, y) is model
    assert list(model.feature_names_in_) == ["age", "spend", "plan", "region", "noise"]
    assert model.n_features_in_ == 5
    assert list(model.classes_) == [0, 1]
    assert model.categories_ == {"plan": ["basic", "plus", "premium"], "region": ["east", "north", "south", "west"]}
    # no validation set: 5-fold cross-validation, and the 5 fold boosters serve together
    assert len(model.boosters_) == 5
    assert all(0 < model.best_iteration_ == booster.num_trees() for booster in model.boosters_)
    assert len(model.study_.trials) == FAST["n_trials"]
    assert {"raw_log_loss", "raw_brier", "raw_auc", "calibrated_log_loss", "calibrated_brier", "calibrated_auc"} <= set(
        model.validation_scores_
    )
    assert isinstance(model.calibrator_, Calibrator)
    proba = model.predict_proba(X_new)
    assert proba.shape == (len(X_new), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert roc_auc_score(y_new, proba[:, 1]) > 0.7  # the signal is learnt
    assert set(np.unique(model.predict(X_new))) <= {0, 1}


def test_string_labels_keep_their_values():
    X, y = make_data(800, seed=2)
    labels = np.where(y == 1, "Yes", "No")
    model = BoostedClassifier(n_trials=2, early_stopping_rounds=10, max_rounds=200).fit(X, labels)
    assert list(model.classes_) == ["No", "Yes"]
    assert set(model.predict(X)) <= {"No", "Yes"}


def test_calibration_fixes_the_shift_of_class_rebalancing():
    # 5 % positives re-weighted to balance: raw probabilities are far too high; the calibrator
    # (fitted on validation predictions) must bring them back to observed frequencies.
    X, y = make_data(3000, seed=3, base_rate=-3.5)
    X_new, y_new = make_data(20000, seed=4, base_rate=-3.5)
    model = BoostedClassifier(imbalance="balanced", seed=0, **FAST).fit(X, y)
    assert model.imbalance_ == "balanced"
    assert model.calibrator_.kind in ("sigmoid", "isotonic")
    raw = expit(model.decision_function(X_new))
    calibrated = model.predict_proba(X_new)[:, 1]
    assert raw.mean() > 2 * y_new.mean()  # the booster really is miscalibrated
    assert brier_score_loss(y_new, calibrated) < brier_score_loss(y_new, raw)
    assert abs(calibrated.mean() - y_new.mean()) < 0.015
    assert model.validation_scores_["calibrated_log_loss"] < model.validation_scores_["raw_log_loss"]


def test_auto_imbalance_balances_only_rare_classes():
    X, y = make_data(3000, seed=3, base_rate=-3.5)  # about 5 % positives
    assert BoostedClassifier(n_trials=1, max_rounds=50).fit(X, y).imbalance_ == "balanced"
    X, y = make_data(1000, seed=3)  # about 30 % positives
    assert BoostedClassifier(n_trials=1, max_rounds=50).fit(X, y).imbalance_ == "none"


def test_auto_calibration_picks_a_calibrator_for_miscalibrated_margins_and_none_for_calibrated_ones():
    rng = np.random.default_rng(0)
    true_margin = rng.normal(-1.0, 1.5, 4000)
    y = (rng.random(4000) < expit(true_margin)).astype(int)
    overconfident = 3.0 * true_margin + 1.0
    calibrator, scores = _select_calibrator("auto", overconfident, y, seed=0, rebalanced=False)
    assert calibrator.kind == "sigmoid"
    assert scores["calibrated_log_loss"] < scores["raw_log_loss"]
    np.testing.assert_allclose([calibrator.slope, calibrator.intercept], [1 / 3, -1 / 3], atol=0.08)
    calibrator, scores = _select_calibrator("auto", true_margin, y, seed=0, rebalanced=False)
    assert calibrator.kind == "none"
    assert scores["calibrated_log_loss"] == scores["raw_log_loss"]


def test_auto_calibration_excludes_isotonic_when_its_ties_cost_ranking():
    # A kinked calibration curve: isotonic fits it best (lowest log-loss), but its flat steps tie
    # neighbours that the fine-grained margin ranks correctly, which costs ROC-AUC.
    rng = np.random.default_rng(1)
    margin = rng.normal(0.0, 2.0, 3000)
    y = (rng.random(3000) < np.where(margin < 0, expit(2 * margin - 2), 0.5 + 0.45 * expit(2 * margin))).astype(int)
    calibrator, scores = _select_calibrator("auto", margin, y, seed=0, rebalanced=False)
    assert scores["isotonic_log_loss"] < scores["sigmoid_log_loss"] < scores["raw_log_loss"]
    assert scores["isotonic_auc"] < scores["raw_fold_auc"]
    assert calibrator.kind == "sigmoid"
    assert scores["calibrated_auc"] == scores["raw_auc"]  # a sigmoid keeps the ranking exactly
    calibrator, _ = _select_calibrator("isotonic", margin, y, seed=0, rebalanced=False)
    assert calibrator.kind == "isotonic"  # an explicit choice is honoured


def test_auto_calibration_after_rebalancing_always_calibrates():
    rng = np.random.default_rng(2)
    margin = rng.normal(-1.0, 1.5, 2000)
    y = (rng.random(2000) < expit(margin)).astype(int)  # already calibrated ...
    assert _select_calibrator("auto", margin, y, seed=0, rebalanced=False)[0].kind == "none"
    # ... but after re-weighting "none" is not a candidate: the shift must be undone
    assert _select_calibrator("auto", margin, y, seed=0, rebalanced=True)[0].kind in ("sigmoid", "isotonic")


def test_sigmoid_calibration_keeps_the_ranking(data):
    X, y, X_new, _ = data
    model = BoostedClassifier(calibration="sigmoid", seed=0, **FAST).fit(X, y)
    assert model.calibrator_.kind == "sigmoid"
    margin = model.decision_function(X_new)
    proba = model.predict_proba(X_new)[:, 1]
    order = np.argsort(margin, kind="stable")
    assert np.all(np.diff(proba[order]) >= 0)


def test_contributions_sum_to_the_margin(fitted, data):
    _, _, X_new, _ = data
    contributions = fitted.contributions(X_new)
    assert contributions.shape == (len(X_new), fitted.n_features_in_ + 1)
    np.testing.assert_allclose(contributions.sum(axis=1), fitted.decision_function(X_new), rtol=0, atol=1e-10)
    # the irrelevant feature explains less than the strongest one
    assert np.abs(contributions[:, 4]).mean() < np.abs(contributions[:, 0]).mean()


def test_category_order_and_dtype_do_not_change_predictions(fitted, data):
    _, _, X_new, _ = data
    expected = fitted.predict_proba(X_new)
    changed = X_new.copy()
    changed["plan"] = changed["plan"].cat.reorder_categories(["premium", "basic", "plus"])  # other codes
    changed["region"] = pd.Categorical(changed["region"], categories=["west", "south", "north", "east", "mars"])
    assert not np.array_equal(changed["plan"].cat.codes, X_new["plan"].cat.codes)
    np.testing.assert_array_equal(fitted.predict_proba(changed), expected)
    as_strings = X_new.astype({"plan": "string", "region": "string"})
    np.testing.assert_array_equal(fitted.predict_proba(as_strings), expected)
    as_objects = X_new.astype({"plan": object})
    np.testing.assert_array_equal(fitted.predict_proba(as_objects), expected)


def test_unseen_category_is_scored_as_missing(fitted, data):
    _, _, X_new, _ = data
    rows = X_new.iloc[:50].copy()
    unseen = rows.astype({"region": object})
    unseen["region"] = "atlantis"
    missing = rows.astype({"region": object})
    missing["region"] = np.nan
    proba_unseen = fitted.predict_proba(unseen)
    assert np.isfinite(proba_unseen).all()
    np.testing.assert_array_equal(proba_unseen, fitted.predict_proba(missing))
    matrix = encode_frame(unseen, list(fitted.feature_names_in_), fitted.categories_)
    assert np.isnan(matrix[:, 3]).all()  # missing for LightGBM, not some training category's code
    assert not np.isnan(matrix[:, 2]).any()


def test_column_order_and_extra_columns_do_not_change_predictions(fitted, data):
    _, _, X_new, _ = data
    shuffled = X_new[["noise", "region", "spend", "plan", "age"]].assign(extra=1.0)
    np.testing.assert_array_equal(fitted.predict_proba(shuffled), fitted.predict_proba(X_new))
    np.testing.assert_array_equal(fitted.contributions(shuffled), fitted.contributions(X_new))


def test_zero_rows_give_empty_results(fitted, data):
    _, _, X_new, _ = data
    empty = X_new.iloc[:0]
    assert fitted.predict_proba(empty).shape == (0, 2)
    assert fitted.decision_function(empty).shape == (0,)
    assert fitted.contributions(empty).shape == (0, fitted.n_features_in_ + 1)
    assert fitted.predict(empty).shape == (0,)


def test_missing_column_is_a_schema_error_naming_it(fitted, data):
    _, _, X_new, _ = data
    with pytest.raises(SchemaError, match=r"missing columns \['spend', 'region'\]"):
        fitted.predict_proba(X_new.drop(columns=["region", "spend"]))


def test_numeric_column_that_arrives_as_text_is_a_schema_error(fitted, data):
    _, _, X_new, _ = data
    broken = X_new.assign(age="forty")
    with pytest.raises(SchemaError, match="column 'age'.*numeric at fit"):
        fitted.predict(broken)


def test_inputs_that_are_not_dataframes_or_binary_are_rejected(data):
    X, y, _, _ = data
    with pytest.raises(SchemaError, match="needs a pandas DataFrame"):
        BoostedClassifier(**FAST).fit(X.to_numpy(), y)
    with pytest.raises(SchemaError, match="exactly 2 classes; got 3"):
        BoostedClassifier(**FAST).fit(X, np.arange(len(X)) % 3)
    with pytest.raises(SchemaError, match="dtype datetime64"):
        BoostedClassifier(**FAST).fit(X.assign(when=pd.Timestamp("2024-01-01")), y)


def test_invalid_options_are_config_errors(data):
    X, y, _, _ = data
    with pytest.raises(ConfigError, match="calibration must be one of"):
        BoostedClassifier(calibration="platt").fit(X, y)
    with pytest.raises(ConfigError, match="imbalance must be one of"):
        BoostedClassifier(imbalance="smote").fit(X, y)
    with pytest.raises(ConfigError, match="may not set 'objective'"):
        BoostedClassifier(search_space={"objective": "regression"}).fit(X, y)
    with pytest.raises(ConfigError, match="X_valid and y_valid together"):
        BoostedClassifier(**FAST).fit(X, y, X_valid=X)


def test_search_space_override_fixes_a_parameter(data):
    X, y, _, _ = data
    model = BoostedClassifier(seed=0, search_space={"num_leaves": 3}, **FAST).fit(X, y)
    assert model.best_params_["num_leaves"] == 3
    for booster in model.boosters_:
        assert max(tree["num_leaves"] for tree in booster.dump_model()["tree_info"]) <= 3


def test_given_validation_set_is_used_for_tuning_and_calibration(data):
    X, y, X_new, y_new = data
    model = BoostedClassifier(seed=0, **FAST).fit(X, y, X_valid=X_new.iloc[:800], y_valid=y_new[:800])
    margin = model.decision_function(X_new.iloc[:800])
    assert model.validation_scores_["raw_auc"] == pytest.approx(roc_auc_score(y_new[:800], margin), abs=1e-12)
    # one booster, trained on all of X (no internal split or folds)
    assert len(model.boosters_) == 1
    assert model.boosters_[0].num_feature() == 5
    assert model.study_.best_value == pytest.approx(model.validation_scores_["raw_log_loss"], rel=1e-6)


def test_the_served_margin_is_the_mean_of_the_fold_boosters_and_calibrated_out_of_fold(fitted, data):
    from kpredict.modeling._frame import encode_frame

    X, y, X_new, _ = data
    matrix = encode_frame(X_new, list(fitted.feature_names_in_), fitted.categories_)
    each = [booster.predict(matrix, raw_score=True) for booster in fitted.boosters_]
    np.testing.assert_allclose(fitted.decision_function(X_new), np.mean(each, axis=0), rtol=0, atol=1e-12)
    # the calibrator was scored on out-of-fold margins: every training row, each from the fold
    # model that did not see it, so it is not the (in-sample, flattering) AUC of the bag on X
    in_sample = roc_auc_score(y, fitted.decision_function(X))
    assert fitted.validation_scores_["raw_auc"] < in_sample - 0.01


def test_cv_sets_the_number_of_fold_boosters_and_none_keeps_one_split(data):
    X, y, _, _ = data
    assert len(BoostedClassifier(seed=0, cv=3, **FAST).fit(X, y).boosters_) == 3
    assert len(BoostedClassifier(seed=0, cv=None, **FAST).fit(X, y).boosters_) == 1
    with pytest.raises(ConfigError, match="cv must be an integer >= 2"):
        BoostedClassifier(cv=1, **FAST).fit(X, y)


def test_a_model_saved_before_bagging_still_loads(data, tmp_path):
    X, y, X_new, _ = data
    model = BoostedClassifier(seed=0, cv=None, **FAST).fit(X, y)
    model.to_artifacts(tmp_path)
    meta = json.loads((tmp_path / "classifier.json").read_text())
    del meta["boosters"], meta["params"]["cv"]  # what a model written before this change holds
    (tmp_path / "classifier.json").write_text(json.dumps(meta))
    loaded = BoostedClassifier.from_artifacts(tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(X_new), model.predict_proba(X_new))


def test_artifacts_round_trip_bit_for_bit_without_pickle(fitted, data, tmp_path):
    _, _, X_new, _ = data
    fitted.to_artifacts(tmp_path / "model")
    files = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert files == ["booster.txt", "booster_1.txt", "booster_2.txt", "booster_3.txt", "booster_4.txt", "classifier.json"]
    for path in (tmp_path / "model").iterdir():
        assert not path.read_bytes().startswith(b"\x80"), "pickle protocol header found"
    meta = json.loads((tmp_path / "model" / "classifier.json").read_text())
    assert meta["categories"] == fitted.categories_
    assert set(meta["versions"]) >= {"lightgbm", "optuna", "scikit-learn", "numpy", "pandas"}
    assert meta["best_iteration"] == fitted.best_iteration_

    loaded = BoostedClassifier.from_artifacts(tmp_path / "model")
    check_is_fitted(loaded)
    assert loaded.study_ is None
    assert loaded.get_params() == fitted.get_params()
    assert loaded.best_params_ == fitted.best_params_
    assert loaded.calibrator_.kind == fitted.calibrator_.kind
    np.testing.assert_array_equal(loaded.predict_proba(X_new), fitted.predict_proba(X_new))
    np.testing.assert_array_equal(loaded.decision_function(X_new), fitted.decision_function(X_new))
    np.testing.assert_array_equal(loaded.contributions(X_new), fitted.contributions(X_new))
    np.testing.assert_array_equal(loaded.predict(X_new), fitted.predict(X_new))
    assert [b.model_to_string() for b in loaded.boosters_] == [b.model_to_string() for b in fitted.boosters_]


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic"])
def test_artifacts_round_trip_every_calibrator(data, tmp_path, calibration):
    X, y, X_new, _ = data
    model = BoostedClassifier(calibration=calibration, seed=0, search_space={"num_leaves": 4}, **FAST).fit(X, y)
    model.to_artifacts(tmp_path)
    loaded = BoostedClassifier.from_artifacts(tmp_path)
    assert loaded.calibrator_.kind == calibration
    assert loaded.get_params()["search_space"] == {"num_leaves": 4}
    np.testing.assert_array_equal(loaded.predict_proba(X_new), model.predict_proba(X_new))


def test_from_artifacts_of_an_empty_directory_is_model_not_found(tmp_path):
    with pytest.raises(ModelNotFoundError, match="missing \\['booster.txt', 'classifier.json'\\]"):
        BoostedClassifier.from_artifacts(tmp_path)


_DETERMINISM_SCRIPT = textwrap.dedent(
    """
    import hashlib, sys
    sys.path.insert(0, {tests!r})
    from test_classifier import FAST, make_data
    from kpredict.modeling import BoostedClassifier
    X, y = make_data(1500, seed=5)
    model = BoostedClassifier(seed=7, **FAST).fit(X, y)
    print(hashlib.sha256("".join(b.model_to_string() for b in model.boosters_).encode()).hexdigest())
    print(hashlib.sha256(model.predict_proba(X).tobytes()).hexdigest())
    print(model.best_params_)
    """
)


def test_fits_are_identical_across_processes(tmp_path):
    from pathlib import Path

    script = tmp_path / "fit_once.py"
    script.write_text(_DETERMINISM_SCRIPT.format(tests=str(Path(__file__).resolve().parent)))
    outputs = [
        subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    assert len(outputs[0].splitlines()) == 3
    assert outputs[0] == outputs[1]


def test_seed_changes_the_model(data):
    X, y, _, _ = data
    texts = {
        hashlib.sha256(BoostedClassifier(seed=seed, **FAST).fit(X, y).boosters_[0].model_to_string().encode()).hexdigest()
        for seed in (0, 1)
    }
    assert len(texts) == 2  # the determinism test above is not vacuous


def test_sklearn_contract_clone_params_and_fitted_checks(data):
    X, y, _, _ = data
    model = BoostedClassifier(n_trials=3, calibration="sigmoid", search_space={"num_leaves": 4})
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    with pytest.raises(NotFittedError):
        model.predict_proba(X)
    params = model.get_params()
    assert params["n_trials"] == 3 and params["calibration"] == "sigmoid"
    copy = clone(model)
    assert copy is not model and copy.get_params() == params
    copy.set_params(n_trials=2, imbalance="none")
    assert copy.n_trials == 2 and model.n_trials == 3
    copy.set_params(early_stopping_rounds=10, max_rounds=200).fit(X, y)
    check_is_fitted(copy)
    with pytest.raises(NotFittedError):
        check_is_fitted(clone(copy))  # a clone forgets what was learnt


def test_cross_val_score_runs(data):
    X, y, _, _ = data
    model = BoostedClassifier(n_trials=2, early_stopping_rounds=10, max_rounds=300)
    scores = cross_val_score(model, X, y, cv=3, scoring="roc_auc")
    assert scores.shape == (3,)
    assert np.all(scores > 0.7)
    accuracy = cross_val_score(model, X, y, cv=3)
    assert np.all((accuracy > 0.6) & (accuracy <= 1.0))


def test_the_linear_classifier_scores_a_row_the_same_in_any_batch_and_its_reasons_add_up(tmp_path):
    from kpredict.modeling import LinearClassifier
    from kpredict.scoring.kinds import KINDS, load_sklearn

    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({
        "amount": rng.normal(size=n),
        "gaps": np.where(rng.random(n) < 0.2, np.nan, rng.exponential(size=n)),
        "plan": pd.Categorical(rng.choice(["basic", "pro", "team"], n)),
    })
    y = ((X["amount"] + (X["plan"] == "team") * 1.5 + rng.normal(size=n)) > 0.7).astype(int).to_numpy()
    model = LinearClassifier(random_state=0).fit(X, y)
    whole = model.predict_proba(X)[:, 1]
    one_by_one = np.array([model.predict_proba(X.iloc[[i]])[0, 1] for i in range(0, n, 37)])
    assert np.array_equal(whole[::37], one_by_one)
    order = rng.permutation(n)
    assert np.array_equal(model.predict_proba(X.iloc[order])[:, 1], whole[order])
    contributions = model.contributions(X)
    assert contributions.shape == (n, 4)
    assert np.allclose(contributions.sum(axis=1), model.decision_function(X), atol=1e-12)
    assert np.abs(contributions[:, 0]).mean() > np.abs(contributions[:, 1]).mean()  # the amount drives it, not the noise
    KINDS["sklearn_classifier"].save(model, tmp_path)
    loaded = load_sklearn(tmp_path, {})  # only scikit-learn and kpredict types (and a dtype) are trusted
    assert np.array_equal(loaded.predict_proba(X)[:, 1], whole)
    del model.spline_knots, model.splines_  # as a model saved before the curves existed
    (tmp_path / "older").mkdir()
    KINDS["sklearn_classifier"].save(model, tmp_path / "older")
    assert np.array_equal(load_sklearn(tmp_path / "older", {}).predict_proba(X)[:, 1], whole)


def test_the_linear_classifier_with_splines_learns_a_curve_keeps_exact_reasons_and_loads_from_skops(tmp_path):
    """The churn baseline's curves: a risk that rises at both ends of a number is out of reach of a
    straight line; the spline model finds it, its reasons still add up, and its file loads without
    trusting anything beyond scikit-learn, kpredict and scipy's spline data."""
    from sklearn.metrics import roc_auc_score

    from kpredict.modeling import LinearClassifier
    from kpredict.scoring.kinds import KINDS, load_sklearn

    rng = np.random.default_rng(5)
    n = 3000
    X = pd.DataFrame({
        "tenure": rng.uniform(-3, 3, n),
        "spend": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "plan": pd.Categorical(rng.choice(["basic", "pro"], n)),
    })
    margin = X["tenure"] ** 2 - 2 + 0.8 * (X["plan"] == "pro")  # risky when new and when long-standing
    y = (rng.random(n) < 1 / (1 + np.exp(-margin.to_numpy()))).astype(int)
    train, test = np.arange(n) < 2000, np.arange(n) >= 2000
    straight = LinearClassifier().fit(X[train], y[train])
    curved = LinearClassifier(spline_knots=6).fit(X[train], y[train])
    auc_straight = roc_auc_score(y[test], straight.decision_function(X[test]))
    auc_curved = roc_auc_score(y[test], curved.decision_function(X[test]))
    auc_truth = roc_auc_score(y[test], margin[test])
    assert auc_curved > auc_straight + 0.15 and auc_curved > auc_truth - 0.02, (auc_straight, auc_curved, auc_truth)

    beyond = X.iloc[:2].assign(tenure=[-30.0, 30.0])  # flat beyond the training range, never wild
    edges = X.iloc[:2].assign(tenure=[X["tenure"][train].min(), X["tenure"][train].max()])
    assert np.allclose(curved.decision_function(beyond), curved.decision_function(edges))
    contributions = curved.contributions(X)
    assert contributions.shape == (n, 4)
    assert np.allclose(contributions.sum(axis=1), curved.decision_function(X), atol=1e-12)
    KINDS["sklearn_classifier"].save(curved, tmp_path)
    assert np.array_equal(load_sklearn(tmp_path, {}).predict_proba(X)[:, 1], curved.predict_proba(X)[:, 1])
    with pytest.raises(ValueError, match="spline_knots must be 0"):
        LinearClassifier(spline_knots=1).fit(X, y)
