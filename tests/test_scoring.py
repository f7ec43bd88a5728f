"""The one scoring interface on the churn model: output contract, reproducibility and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kpredict.cli.main import app
from kpredict.errors import ConfigError, ModelNotFoundError, SchemaError, StorageError
from kpredict.fileset import sets_dir
from kpredict.hashing import file_hash
from kpredict.scoring import score

AS_OF = "2026-10-01"
STANDARD = ["customer_id", "as_of", "model_name", "model_version", "run_id", "churn_probability", "risk_band", "rank"]


@pytest.fixture(scope="module")
def scored(churn_project, tmp_path_factory):
    _, config, _ = churn_project
    out_dir = tmp_path_factory.mktemp("scored")
    result = score("churn", AS_OF, config=config, output_dir=out_dir, explain_top="all")
    return config, out_dir, result


def test_output_has_the_standard_columns_then_predictions_and_reasons(scored):
    _, _, result = scored
    frame = pd.read_parquet(result.output)
    assert list(frame.columns[: len(STANDARD)]) == STANDARD
    for i in (1, 2, 3):
        assert {f"reason_{i}_feature", f"reason_{i}_value", f"reason_{i}_shap", f"reason_{i}_en", f"reason_{i}_zh"} <= set(frame.columns)
    assert frame["customer_id"].is_unique and len(frame) > 0
    assert frame["churn_probability"].between(0, 1).all()
    assert sorted(frame["rank"]) == list(range(1, len(frame) + 1))
    top = frame.sort_values("rank").iloc[0]
    assert top["risk_band"] in ("high", "medium", "low") and top["reason_1_en"] and top["reason_1_zh"]
    assert (frame["as_of"] == pd.Timestamp(AS_OF)).all()


def test_manifest_is_written_last_and_describes_the_run(scored):
    _, _, result = scored
    manifest = json.loads(result.manifest.read_text())
    assert manifest["counts"]["rows"] == len(result.frame)
    assert manifest["output"]["sha256"] == file_hash(result.output)
    assert manifest["model"]["name"] == "kpredict-churn"
    assert set(manifest["input"]["feature_views"]) >= {"customer_orders"}
    assert result.manifest.stat().st_mtime_ns >= result.output.stat().st_mtime_ns


def test_rerunning_gives_identical_bytes(scored):
    config, out_dir, result = scored
    again = score("churn", AS_OF, config=config, output_dir=out_dir, explain_top="all")
    assert file_hash(again.output) == file_hash(result.output)


def test_chunk_size_and_shuffled_rows_do_not_change_per_row_results(scored, tmp_path):
    config, _, result = scored
    base = result.frame.set_index("customer_id")
    for chunk in (1, 7):
        other = score("churn", AS_OF, config=config, chunk_rows=chunk, explain_top="all", write=False).frame.set_index("customer_id")
        pd.testing.assert_frame_equal(other.loc[base.index], base)
    features = _features_table(scored)
    shuffled = features.sample(frac=1.0, random_state=1)
    shuffled.to_parquet(tmp_path / "shuffled.parquet", index=False)
    from_table = score("churn", AS_OF, config=config, input_path=tmp_path / "shuffled.parquet", write=False).frame.set_index("customer_id")
    assert np.array_equal(from_table.loc[base.index, "churn_probability"].to_numpy(), base["churn_probability"].to_numpy())


def test_explanations_add_up_to_the_raw_score(scored):
    from kpredict.pipelines.churn import PIPELINE
    from kpredict.scoring.bundle import load_bundle

    bundle = load_bundle("churn")
    estimator = PIPELINE.scoring_plugin().load_estimator(bundle)  # the served model, trees or logistic
    features = _features_table(scored).head(200)
    x = features[list(estimator.feature_names_in_)]
    contributions = estimator.contributions(x)
    assert np.allclose(contributions.sum(axis=1), estimator.decision_function(x), rtol=0, atol=1e-9)


def _features_table(scored) -> pd.DataFrame:
    from kpredict.scoring.bundle import load_bundle

    config, _, _ = scored
    from kpredict.pipelines.churn.scoring import PLUGIN
    from kpredict.scoring.plugin import NoParams, ScoringContext

    bundle = load_bundle("churn")
    return PLUGIN.scoring_input(ScoringContext("churn", config, pd.Timestamp(AS_OF), bundle, NoParams())).frame


# ---------------------------------------------------------------------------- bad input


def _score_table(scored, tmp_path, frame: pd.DataFrame, **kwargs):
    config, _, _ = scored
    path = tmp_path / "input.parquet"
    frame.to_parquet(path, index=False)
    return score("churn", AS_OF, config=config, input_path=path, output_dir=tmp_path / "out", **kwargs)


def test_missing_column_names_it_and_writes_nothing(scored, tmp_path):
    frame = _features_table(scored).drop(columns=["orders_30d"])
    with pytest.raises(SchemaError, match=r"scoring input is missing columns \['orders_30d'\]; got \['customer_id'"):
        _score_table(scored, tmp_path, frame)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_extra_column_is_dropped_with_a_warning_or_refused_when_strict(scored, tmp_path, caplog):
    frame = _features_table(scored).assign(shoe_size=1.0)
    result = _score_table(scored, tmp_path, frame)
    assert "shoe_size" in caplog.text and "shoe_size" not in result.frame.columns
    with pytest.raises(SchemaError, match=r"columns the model does not use: \['shoe_size'\]"):
        _score_table(scored, tmp_path, frame, strict=True)


def test_numbers_as_text_are_accepted_when_they_parse(scored, tmp_path):
    frame = _features_table(scored)
    as_text = frame.assign(orders_30d=frame["orders_30d"].map(lambda v: "" if pd.isna(v) else repr(float(v))))
    a = _score_table(scored, tmp_path, frame, write=False).frame["churn_probability"].to_numpy()
    b = _score_table(scored, tmp_path, as_text, write=False).frame["churn_probability"].to_numpy()
    assert np.array_equal(a, b)
    bad = as_text.copy()
    bad.loc[0, "orders_30d"] = "many"
    with pytest.raises(SchemaError, match=r"column 'orders_30d' must be numeric; 1 value\(s\) of dtype object do not parse"):
        _score_table(scored, tmp_path, bad)


def test_bad_rows_can_be_set_aside_in_a_rejects_file(scored, tmp_path):
    frame = _features_table(scored)
    frame.loc[0, "spend_30d"] = np.inf
    with pytest.raises(SchemaError, match=r"column 'spend_30d' holds 1 infinite value"):
        _score_table(scored, tmp_path, frame)
    result = _score_table(scored, tmp_path, frame, bad_rows="reject")
    rejects = pd.read_csv(result.output.with_name(result.output.stem + ".rejects.csv"))
    assert rejects["reason"].tolist() == ["spend_30d: infinite"]
    assert len(result.frame) == len(frame) - 1
    assert json.loads(result.manifest.read_text())["counts"]["rejects"] == 1


def test_nan_features_score_finite_but_bad_keys_are_errors(scored, tmp_path):
    frame = _features_table(scored)
    frame.loc[0:5, "orders_30d"] = np.nan
    assert np.isfinite(_score_table(scored, tmp_path, frame, write=False).frame["churn_probability"]).all()
    duplicated = pd.concat([frame, frame.head(2)])
    with pytest.raises(SchemaError, match=r"entity key \['customer_id'\] has 2 duplicated row"):
        _score_table(scored, tmp_path, duplicated)
    missing_key = frame.copy()
    missing_key.loc[0, "customer_id"] = None
    with pytest.raises(SchemaError, match=r"missing values \(counts: \{'customer_id': 1\}\)"):
        _score_table(scored, tmp_path, missing_key)


def test_unseen_category_is_scored_and_flagged(scored, tmp_path):
    frame = _features_table(scored)
    frame["plan"] = frame["plan"].astype(object)
    frame.loc[0, "plan"] = "platinum-2099"
    result = _score_table(scored, tmp_path, frame)
    assert bool(result.frame.loc[0, "unseen_category"]) and not result.frame.loc[1:, "unseen_category"].any()
    assert np.isfinite(result.frame.loc[0, "churn_probability"])
    assert json.loads(result.manifest.read_text())["counts"]["unseen_category"] == 1


def test_category_dtype_and_order_do_not_change_predictions(scored, tmp_path):
    frame = _features_table(scored)
    reordered = frame.copy()
    reordered["plan"] = reordered["plan"].cat.reorder_categories(list(reversed(reordered["plan"].cat.categories)))
    reordered["contract"] = reordered["contract"].astype(object)
    reordered = reordered[list(reversed(reordered.columns))]
    a = _score_table(scored, tmp_path, frame, write=False).frame["churn_probability"].to_numpy()
    b = _score_table(scored, tmp_path, reordered, write=False).frame["churn_probability"].to_numpy()
    assert np.array_equal(a, b)


def test_zero_rows_give_an_empty_output_with_the_full_schema(scored, tmp_path):
    frame = _features_table(scored).head(0)
    result = _score_table(scored, tmp_path, frame)
    written = pd.read_parquet(result.output)
    assert len(written) == 0 and list(written.columns[: len(STANDARD)]) == STANDARD
    assert json.loads(result.manifest.read_text())["counts"]["rows"] == 0


def test_unknown_model_version_fails_with_exit_3_and_writes_nothing(scored, tmp_path):
    config, _, _ = scored
    with pytest.raises(ModelNotFoundError, match=r"kpredict-churn"):
        score("churn", AS_OF, model=999, config=config, output_dir=tmp_path)
    assert not list(tmp_path.iterdir())
    result = CliRunner().invoke(app, ["score", "churn", "--as-of", AS_OF, "--model", "999", "--output-dir", str(tmp_path)])
    assert result.exit_code == 3


def test_relative_output_paths_cannot_escape_the_output_directory_but_absolute_ones_are_taken_as_given(scored, tmp_path):
    config, _, _ = scored
    with pytest.raises(ConfigError, match=r"outside the output directory"):
        score("churn", AS_OF, config=config, output_dir=tmp_path / "out", out="../../etc/x.parquet")
    import yaml

    path = tmp_path / "churn.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    chosen = tmp_path / "jobs" / "churn.csv"  # what a scheduler passes: absolute, elsewhere
    result = CliRunner().invoke(app, ["score", "churn", "--as-of", AS_OF, "--out", str(chosen), "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert chosen.is_file() and (tmp_path / "jobs" / "churn.manifest.json").is_file()
    with pytest.raises(ConfigError, match=r"as_of must be a date"):
        score("churn", "../../etc", config=config, output_dir=tmp_path / "out")


def test_a_crash_mid_write_keeps_the_previous_output(scored, tmp_path, monkeypatch):
    config, _, _ = scored
    first = score("churn", AS_OF, config=config, output_dir=tmp_path)
    before = file_hash(first.output)
    import pyarrow.parquet as pq

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", explode)
    with pytest.raises(StorageError, match=rf"cannot write {tmp_path / first.output.name}: disk full"):
        score("churn", AS_OF, config=config, output_dir=tmp_path)
    assert file_hash(first.output) == before
    assert json.loads(first.manifest.read_text())["output"]["sha256"] == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == sorted([first.output.name, first.manifest.name])
    assert len([p for p in sets_dir(first.output).iterdir() if p.name != "current"]) == 1  # no staging folder left


def test_csv_output_by_extension(scored, tmp_path):
    config, _, _ = scored
    result = score("churn", AS_OF, config=config, output_dir=tmp_path, out="list.csv", explain_top=5)
    written = pd.read_csv(result.output)
    assert list(written.columns[: len(STANDARD)]) == STANDARD
    assert (written["reason_1_en"].fillna("") != "").sum() == 5


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_inputs_score_in_range_or_raise_our_schema_error(scored, data):
    from kpredict.scoring.bundle import load_bundle
    from kpredict.scoring.validate import FeatureSpec

    config, _, _ = scored
    spec = FeatureSpec.from_dict(load_bundle("churn").meta["feature_spec"])
    rows = data.draw(st.integers(0, 4))
    numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.text(max_size=6), st.just(""), st.integers(-10**12, 10**12))
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(rows)]})
    for column in spec.numeric:
        frame[column] = pd.Series([data.draw(numbers) for _ in range(rows)], dtype=object)
    for column in spec.categorical:
        frame[column] = pd.Series([data.draw(st.one_of(st.text(max_size=4), st.sampled_from(spec.categorical[column] or ["x"]))) for _ in range(rows)], dtype=object)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.parquet"
        frame.astype({c: str for c in spec.numeric}).to_parquet(path, index=False) if rows else frame.to_parquet(path, index=False)
        try:
            result = score("churn", AS_OF, config=config, input_path=path, output_dir=Path(tmp) / "out")
        except SchemaError:
            return
    probability = result.frame["churn_probability"].to_numpy()
    assert np.all(np.isfinite(probability)) and np.all((probability >= 0) & (probability <= 1))


def test_dask_engine_gives_the_same_rows_as_the_local_engine(scored):
    config, _, result = scored
    dask_result = score("churn", AS_OF, config=config, engine="dask", chunk_rows=50, explain_top="all", write=False)
    pd.testing.assert_frame_equal(dask_result.frame, result.frame)
