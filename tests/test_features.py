"""Feature store behaviour: point-in-time correctness against a row-by-row oracle, and its errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpredict.errors import ConfigError, DataNotFoundError, PointInTimeError, SchemaError
from kpredict.features import FeatureRepoConfig, FeatureStore
from kpredict.hashing import file_hash

T0 = pd.Timestamp("2025-01-01")
HOUR = pd.Timedelta(hours=1)
TEXT = {"en": "x", "zh": "x"}


def _feature(name, transform, dtype="float64"):
    return {"name": name, "transform": transform, "dtype": dtype, "description": TEXT}


def oracle_repo(ttl: str | None = None, created: bool = True) -> FeatureRepoConfig:
    features = [
        _feature("latest_v", {"kind": "latest", "column": "v"}),
        _feature("lag2_v", {"kind": "lag", "column": "v", "periods": 2}),
        _feature("roll3_sum", {"kind": "rolling", "column": "v", "agg": "sum", "periods": 3}),
        _feature("roll3_max", {"kind": "rolling", "column": "v", "agg": "max", "periods": 3}),
        _feature("w1d_count", {"kind": "window", "agg": "count", "window": "1d"}),
        _feature("w1d_sum", {"kind": "window", "column": "v", "agg": "sum", "window": "1d"}),
        _feature("w2d_mean", {"kind": "window", "column": "v", "agg": "mean", "window": "2d"}),
        _feature("w2d_std", {"kind": "window", "column": "v", "agg": "std", "window": "2d"}),
        _feature("w2d_min", {"kind": "window", "column": "v", "agg": "min", "window": "2d"}),
        _feature("w2d_max", {"kind": "window", "column": "v", "agg": "max", "window": "2d"}),
        _feature("since_last_h", {"kind": "recency", "unit": "hours"}),
        _feature("ratio_1d_2d", {"kind": "ratio", "numerator": "w1d_sum", "denominator": "w2d_mean"}),
        _feature("latest_label", {"kind": "latest", "column": "label"}, dtype="category"),
        _feature("decay_6h_count", {"kind": "decay", "half_life": "6h"}),
        _feature("decay_1d_v", {"kind": "decay", "column": "v", "half_life": "1d"}),
    ]
    view = {"entities": ["thing"], "source": "events", "event_timestamp": "ts", "features": features}
    if created:
        view["created_timestamp"] = "created"
    if ttl:
        view["ttl"] = ttl
    return FeatureRepoConfig.model_validate(
        {
            "entities": {"thing": {"join_keys": ["k"]}},
            "sources": {"events": {"kind": "parquet", "path": "events.parquet"}},
            "feature_views": {"things": view},
        }
    )


def make_store(events: pd.DataFrame, repo: FeatureRepoConfig, directory: Path, **kwargs) -> FeatureStore:
    events.to_parquet(directory / "events.parquet", index=False)
    return FeatureStore(repo, data_dir=directory, **kwargs)


def reference_row(events: pd.DataFrame, key, t, *, inclusive: bool, ttl) -> dict:
    """Row-by-row reference of every oracle feature for one entity row."""
    ev = events[events["k"] == key]
    visible = ev[ev["ts"] <= t] if inclusive else ev[ev["ts"] < t]
    visible = visible.sort_values(["ts", "created"], kind="mergesort")
    nan_row = dict.fromkeys(
        ["latest_v", "lag2_v", "roll3_sum", "roll3_max", "w1d_count", "w1d_sum", "w2d_mean", "w2d_std",
         "w2d_min", "w2d_max", "since_last_h", "ratio_1d_2d", "decay_6h_count", "decay_1d_v"], np.nan)
    nan_row["latest_label"] = None
    if visible.empty:
        return nan_row
    last_ts = visible["ts"].max()
    if ttl is not None and last_ts < t - ttl:
        return nan_row

    def window(w):
        return visible[visible["ts"] > t - w] if inclusive else visible[visible["ts"] >= t - w]

    d1, d2 = window(pd.Timedelta("1d")), window(pd.Timedelta("2d"))
    last3 = visible["v"].iloc[-3:]
    row = {
        "latest_v": visible["v"].iloc[-1],
        "lag2_v": visible["v"].iloc[-2] if len(visible) >= 2 else np.nan,
        "roll3_sum": last3.sum(),
        "roll3_max": last3.max(),
        "w1d_count": float(len(d1)),
        "w1d_sum": d1["v"].sum(),
        "w2d_mean": d2["v"].mean(),
        "w2d_std": d2["v"].std(),
        "w2d_min": d2["v"].min(),
        "w2d_max": d2["v"].max(),
        "since_last_h": (t - last_ts) / HOUR,
        "latest_label": visible["label"].iloc[-1],
        "decay_6h_count": float(np.sum(np.exp2(-((t - visible["ts"]) / pd.Timedelta("6h")).to_numpy()))),
        "decay_1d_v": float(np.sum(visible["v"].to_numpy() * np.exp2(-((t - visible["ts"]) / pd.Timedelta("1d")).to_numpy()))),
    }
    mean = row["w2d_mean"]
    row["ratio_1d_2d"] = row["w1d_sum"] / mean if mean and not np.isnan(mean) else np.nan
    return row


def assert_matches_reference(frame: pd.DataFrame, events: pd.DataFrame, entity: pd.DataFrame, *, inclusive=True, ttl=None):
    for position, (key, t) in enumerate(zip(entity["k"], entity["event_timestamp"])):
        expected = reference_row(events, key, t, inclusive=inclusive, ttl=ttl)
        got = frame.iloc[position]
        for name, value in expected.items():
            if name == "latest_label":
                assert (pd.isna(got[name]) and value is None) or got[name] == value, (name, position)
            else:
                assert np.isclose(got[name], value, rtol=1e-9, atol=1e-9, equal_nan=True), (name, position, got[name], value)


event_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(0, 24 * 6),  # hour of the event
        st.integers(0, 3),  # created offset (hours)
        st.integers(-5, 20),  # value
        st.sampled_from(["x", "y", "z"]),
    ),
    min_size=0,
    max_size=40,
)
entity_rows = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 24 * 7)), min_size=1, max_size=25)


def _events_frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["k", "h", "c", "v", "label"])
    frame = frame.drop_duplicates(["k", "h", "c"])  # (key, time, created) identifies a row version
    return pd.DataFrame(
        {
            "k": frame["k"].astype(object),
            "ts": T0 + pd.to_timedelta(frame["h"].to_numpy(np.int64), unit="h"),
            "created": T0 + pd.to_timedelta((frame["h"] + frame["c"]).to_numpy(np.int64), unit="h"),
            "v": frame["v"].astype(float),
            "label": frame["label"].astype(object),
        }
    )


def _entity_frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["k", "h"])
    return pd.DataFrame({"k": frame["k"].astype(object), "event_timestamp": T0 + pd.to_timedelta(frame["h"].to_numpy(np.int64), unit="h")})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=event_rows, entity=entity_rows, inclusive=st.booleans(), ttl=st.sampled_from([None, "12h", "2d"]), materialised=st.booleans())
def test_training_frame_equals_row_by_row_reference(events, entity, inclusive, ttl, materialised):
    """Both paths: the as-of join of a materialised view, and direct evaluation at the entity times."""
    events_df, entity_df = _events_frame(events), _entity_frame(entity)
    with tempfile.TemporaryDirectory() as tmp:
        store = make_store(events_df, oracle_repo(ttl=ttl), Path(tmp), inclusive=inclusive)
        if materialised:
            store.materialize(["things"])
        frame = store.training_frame(entity_df, ["things"])
    assert len(frame) == len(entity_df)
    assert list(frame.columns[:2]) == ["k", "event_timestamp"]
    ttl_delta = pd.Timedelta(ttl) if ttl else None
    assert_matches_reference(frame, events_df, entity_df, inclusive=inclusive, ttl=ttl_delta)


@settings(max_examples=40, deadline=None)
@given(events=event_rows.filter(lambda r: len(r) > 0), entity=entity_rows, data=st.data())
def test_changing_rows_after_the_entity_time_changes_nothing(events, entity, data):
    events_df, entity_df = _events_frame(events), _entity_frame(entity)
    cutoff = entity_df["event_timestamp"].min()
    future = events_df["ts"] > cutoff
    changed = events_df.copy()
    changed.loc[future, "v"] = data.draw(st.integers(100, 200))
    extra = pd.DataFrame({"k": ["a"], "ts": [cutoff + HOUR], "created": [cutoff + HOUR + pd.Timedelta(minutes=10)], "v": [999.0], "label": ["q"]})
    changed = pd.concat([changed, extra], ignore_index=True)
    only_first = entity_df[entity_df["event_timestamp"] == cutoff]
    with tempfile.TemporaryDirectory() as tmp_a, tempfile.TemporaryDirectory() as tmp_b:
        before = make_store(events_df, oracle_repo(), Path(tmp_a)).training_frame(only_first, ["things"])
        after = make_store(changed, oracle_repo(), Path(tmp_b)).training_frame(only_first, ["things"])
    # The category *list* comes from the whole source (so codes are stable); the values must match.
    before["latest_label"] = before["latest_label"].astype(object)
    after["latest_label"] = after["latest_label"].astype(object)
    pd.testing.assert_frame_equal(before, after)


def _simple_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "k": ["a", "a", "a", "b"],
            "ts": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-05", "2025-01-03"]),
            "created": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-05", "2025-01-03"]),
            "v": [1.0, 2.0, 4.0, 10.0],
            "label": ["x", "y", "x", "z"],
        }
    )


def test_ties_on_event_time_are_broken_by_created_time(tmp_path):
    events = pd.DataFrame(
        {
            "k": ["a", "a"],
            "ts": pd.to_datetime(["2025-01-01", "2025-01-01"]),
            "created": pd.to_datetime(["2025-01-03", "2025-01-02"]),
            "v": [7.0, 3.0],
            "label": ["late", "early"],
        }
    )
    store = make_store(events, oracle_repo(), tmp_path)
    frame = store.training_frame(pd.DataFrame({"k": ["a"], "event_timestamp": pd.to_datetime(["2025-01-01"])}), ["things"])
    assert frame.loc[0, "latest_v"] == 7.0
    assert frame.loc[0, "latest_label"] == "late"


def test_rows_beyond_ttl_are_nan_and_counted(tmp_path):
    store = make_store(_simple_events(), oracle_repo(ttl="2d"), tmp_path)
    entity = pd.DataFrame({"k": ["a", "a", "b"], "event_timestamp": pd.to_datetime(["2025-01-03 00:00", "2025-01-04 12:00", "2025-01-04 00:00"])})
    frame = store.training_frame(entity, ["things"])
    assert frame["latest_v"].tolist()[0] == 2.0
    assert np.isnan(frame["latest_v"].iloc[1])  # last event 2025-01-02, 2.5 days earlier
    assert frame["latest_v"].iloc[2] == 10.0
    assert frame.attrs["stale_rows"] == {"things": 1}


def test_inclusive_and_exclusive_cut_off(tmp_path):
    entity = pd.DataFrame({"k": ["a"], "event_timestamp": pd.to_datetime(["2025-01-02"])})
    inclusive = make_store(_simple_events(), oracle_repo(), tmp_path).training_frame(entity, ["things"])
    exclusive = FeatureStore(oracle_repo(), tmp_path, inclusive=False).training_frame(entity, ["things"])
    assert inclusive.loc[0, "latest_v"] == 2.0
    assert exclusive.loc[0, "latest_v"] == 1.0


def test_missing_history_gives_nan_and_keeps_every_row_in_order(tmp_path):
    store = make_store(_simple_events(), oracle_repo(), tmp_path)
    entity = pd.DataFrame(
        {"k": ["b", "zzz", "a", "a"], "event_timestamp": pd.to_datetime(["2025-01-04", "2025-01-04", "2024-12-01", "2025-01-06"]), "label_col": [1, 2, 3, 4]},
        index=[10, 11, 12, 13],
    )
    frame = store.training_frame(entity, ["things"])
    assert frame.index.tolist() == [10, 11, 12, 13]
    assert frame["label_col"].tolist() == [1, 2, 3, 4]
    assert frame["latest_v"].tolist()[0] == 10.0
    assert np.isnan(frame["latest_v"].iloc[1]) and np.isnan(frame["latest_v"].iloc[2])
    assert frame["latest_v"].iloc[3] == 4.0
    pd.testing.assert_frame_equal(entity, entity.copy())  # the input is not modified


def test_unsorted_source_gives_identical_materialisation_bytes_and_hash(tmp_path):
    events = _events_frame([("a", h, 0, h % 7, "x") for h in range(50)] + [("b", h, 1, -h, "y") for h in range(0, 50, 3)])
    shuffled = events.sample(frac=1.0, random_state=3)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = make_store(events, oracle_repo(), tmp_path / "one", store_dir=tmp_path / "one" / "fs").materialize()
    second = make_store(shuffled, oracle_repo(), tmp_path / "two", store_dir=tmp_path / "two" / "fs").materialize()
    assert first["things"].data_hash == second["things"].data_hash
    assert file_hash(first["things"].path) == file_hash(second["things"].path)
    again = FeatureStore(oracle_repo(), tmp_path / "one", store_dir=tmp_path / "one" / "fs").materialize()
    assert file_hash(again["things"].path) == file_hash(first["things"].path)


def test_materialised_parquet_is_reused_and_refreshed_when_the_source_changes(tmp_path):
    store = make_store(_simple_events(), oracle_repo(), tmp_path, store_dir=tmp_path / "fs")
    info = store.materialize()["things"]
    assert info.path.is_file() and (info.path.parent / "meta.json").is_file()
    entity = pd.DataFrame({"k": ["a"], "event_timestamp": pd.to_datetime(["2025-01-06"])})
    fresh = FeatureStore(oracle_repo(), tmp_path, store_dir=tmp_path / "fs")
    assert fresh.training_frame(entity, ["things"]).loc[0, "latest_v"] == 4.0
    changed = _simple_events()
    changed.loc[2, "v"] = 40.0
    changed.to_parquet(tmp_path / "events.parquet", index=False)
    assert fresh.training_frame(entity, ["things"]).loc[0, "latest_v"] == 40.0


def test_a_materialisation_that_fails_before_its_meta_leaves_the_previous_one_usable(tmp_path, monkeypatch):
    import json

    import kpredict.features.store as store_module
    from kpredict.errors import StorageError
    from kpredict.hashing import frame_hash

    store = make_store(_simple_events(), oracle_repo(), tmp_path, store_dir=tmp_path / "fs")
    info = store.materialize()["things"]
    meta_path = info.path.parent / "meta.json"
    meta_before = meta_path.read_text()
    changed = _simple_events()
    changed.loc[2, "v"] = 40.0
    changed.to_parquet(tmp_path / "events.parquet", index=False)

    def full(*args, **kwargs):
        raise StorageError("cannot write meta.json: no space left on the device")

    monkeypatch.setattr(store_module, "write_text", full)
    with pytest.raises(StorageError, match="no space left"):
        FeatureStore(oracle_repo(), tmp_path, store_dir=tmp_path / "fs").materialize()
    monkeypatch.undo()
    assert meta_path.read_text() == meta_before  # the previous materialisation, whole
    meta = json.loads(meta_before)
    assert frame_hash(pd.read_parquet(meta_path.parent / meta["data_file"])) == meta["data_hash"]  # and its own data


def test_a_view_over_a_sql_source_is_reused_until_a_file_it_reads_changes(tmp_path, caplog):
    import logging

    data = oracle_repo().model_dump()
    data["sources"]["doubled"] = {"kind": "sql", "query": "SELECT k, ts, created, 2 * v AS v, label FROM events"}
    data["sources"]["other"] = {"kind": "parquet", "path": "other.parquet"}
    data["feature_views"]["things"]["source"] = "doubled"
    repo = FeatureRepoConfig.model_validate(data)
    _simple_events().to_parquet(tmp_path / "other.parquet", index=False)
    store = make_store(_simple_events(), repo, tmp_path, store_dir=tmp_path / "fs")
    store.materialize()
    entity = pd.DataFrame({"k": ["a"], "event_timestamp": pd.to_datetime(["2025-01-06"])})
    with caplog.at_level(logging.INFO, logger="kpredict.features.store"):
        fresh = FeatureStore(repo, tmp_path, store_dir=tmp_path / "fs")
        assert fresh.training_frame(entity, ["things"]).loc[0, "latest_v"] == 8.0
        assert "is not materialised" not in caplog.text  # read back, not recomputed
        _simple_events().iloc[:1].to_parquet(tmp_path / "other.parquet", index=False)  # a file the query does not name
        assert FeatureStore(repo, tmp_path, store_dir=tmp_path / "fs").training_frame(entity, ["things"]).loc[0, "latest_v"] == 8.0
        assert "is not materialised" not in caplog.text
        changed = _simple_events()
        changed.loc[2, "v"] = 40.0
        changed.to_parquet(tmp_path / "events.parquet", index=False)
        assert fresh.training_frame(entity, ["things"]).loc[0, "latest_v"] == 80.0
        assert "is not materialised" in caplog.text


def test_empty_source_gives_nan_features(tmp_path):
    store = make_store(_simple_events().iloc[0:0], oracle_repo(), tmp_path)
    frame = store.training_frame(pd.DataFrame({"k": ["a"], "event_timestamp": pd.to_datetime(["2025-01-06"])}), ["things"])
    assert frame["latest_v"].isna().all() and frame["w1d_count"].isna().all()


def test_empty_entity_frame_gives_empty_frame_with_all_columns(tmp_path):
    store = make_store(_simple_events(), oracle_repo(), tmp_path)
    entity = pd.DataFrame({"k": pd.Series([], dtype=object), "event_timestamp": pd.Series([], dtype="datetime64[ns]")})
    frame = store.training_frame(entity, ["things"])
    assert len(frame) == 0
    assert "w2d_std" in frame.columns and "latest_label" in frame.columns


def test_category_codes_do_not_depend_on_the_rows_in_the_frame(tmp_path):
    store = make_store(_simple_events(), oracle_repo(), tmp_path)
    only_z = store.training_frame(pd.DataFrame({"k": ["b"], "event_timestamp": pd.to_datetime(["2025-01-04"])}), ["things"])
    both = store.training_frame(pd.DataFrame({"k": ["a", "b"], "event_timestamp": pd.to_datetime(["2025-01-02", "2025-01-04"])}), ["things"])
    assert list(only_z["latest_label"].cat.categories) == ["x", "y", "z"]
    assert only_z["latest_label"].cat.codes.iloc[0] == both["latest_label"].cat.codes.iloc[1]


def test_scoring_frame_gives_latest_values_for_every_entity(tmp_path):
    store = make_store(_simple_events(), oracle_repo(), tmp_path)
    frame = store.scoring_frame("2025-01-04", ["things"])
    assert frame["k"].tolist() == ["a", "b"]
    assert frame["latest_v"].tolist() == [2.0, 10.0]
    assert (frame["event_timestamp"] == pd.Timestamp("2025-01-04")).all()
    chosen = store.scoring_frame("2025-01-06", ["things"], entities=pd.DataFrame({"k": ["b"]}))
    assert chosen["k"].tolist() == ["b"] and chosen["latest_v"].tolist() == [10.0]


# ---------------------------------------------------------------------------- errors


def test_missing_source_column_is_named(tmp_path):
    store = make_store(_simple_events().drop(columns=["v"]), oracle_repo(), tmp_path)
    with pytest.raises(SchemaError, match=r"feature view 'things': source 'events' is missing columns \['v'\]"):
        store.materialize()


def test_non_numeric_column_for_an_aggregate_is_named(tmp_path):
    events = _simple_events().assign(v=["1", "2", "x", "4"])
    store = make_store(events, oracle_repo(), tmp_path)
    with pytest.raises(SchemaError, match=r"feature 'latest_v' needs a numeric column 'v' but it has dtype object"):
        store.materialize()


def test_duplicate_keys_for_latest_values_are_refused(tmp_path):
    events = pd.concat([_simple_events(), _simple_events().iloc[[0]]], ignore_index=True)
    store = make_store(events, oracle_repo(), tmp_path)
    with pytest.raises(SchemaError, match=r"2 rows share the same \(thing, ts, created\)"):
        store.materialize()


def test_unparseable_timestamps_are_named(tmp_path):
    events = _simple_events().assign(ts=["2025-01-01", "not a date", "2025-01-05", "2025-01-03"])
    store = make_store(events, oracle_repo(), tmp_path)
    with pytest.raises(PointInTimeError, match=r"feature view 'things': column 'ts' has values that do not parse"):
        store.materialize()


def test_mixed_time_zones_between_entity_and_view_name_both_columns(tmp_path):
    store = make_store(_simple_events(), oracle_repo(), tmp_path)
    entity = pd.DataFrame({"k": ["a"], "event_timestamp": pd.to_datetime(["2025-01-06"]).tz_localize("UTC")})
    with pytest.raises(PointInTimeError, match=r"'event_timestamp' is time-zone aware but feature view 'things' column 'ts' is naive"):
        store.training_frame(entity, ["things"])


def test_mixed_time_zones_inside_a_column_are_refused(tmp_path):
    events = _simple_events().assign(ts=["2025-01-01T00:00:00+00:00", "2025-01-02", "2025-01-05", "2025-01-03"])
    store = make_store(events, oracle_repo(), tmp_path)
    with pytest.raises(PointInTimeError, match=r"column 'ts' mixes time-zone-aware and naive"):
        store.materialize()


def test_aware_timestamps_on_both_sides_join_in_utc(tmp_path):
    events = _simple_events()
    events["ts"] = events["ts"].dt.tz_localize("Asia/Shanghai")
    events["created"] = events["created"].dt.tz_localize("Asia/Shanghai")
    store = make_store(events, oracle_repo(), tmp_path)
    # 2025-01-02 00:00 Shanghai is 2025-01-01 16:00 UTC: the second event is visible from then on
    entity = pd.DataFrame({"k": ["a", "a"], "event_timestamp": pd.to_datetime(["2025-01-01 15:59", "2025-01-01 16:00"]).tz_localize("UTC")})
    assert store.training_frame(entity, ["things"])["latest_v"].tolist() == [1.0, 2.0]


def test_key_dtype_mismatch_is_named(tmp_path):
    store = make_store(_simple_events(), oracle_repo(), tmp_path)
    entity = pd.DataFrame({"k": [1], "event_timestamp": pd.to_datetime(["2025-01-06"])})
    with pytest.raises(SchemaError, match=r"join key 'k': the entity frame has dtype int64 but feature view 'things' has dtype object"):
        store.training_frame(entity, ["things"])


def test_entity_frame_without_keys_or_timestamp_is_refused(tmp_path):
    store = make_store(_simple_events(), oracle_repo(), tmp_path)
    with pytest.raises(SchemaError, match=r"needs a timestamp column 'event_timestamp'; got \['k'\]"):
        store.training_frame(pd.DataFrame({"k": ["a"]}), ["things"])
    with pytest.raises(SchemaError, match=r"joins on \['k'\], but the entity frame lacks \['k'\]"):
        store.training_frame(pd.DataFrame({"key": ["a"], "event_timestamp": pd.to_datetime(["2025-01-06"])}), ["things"])


def test_missing_source_file_and_unknown_view(tmp_path):
    store = FeatureStore(oracle_repo(), tmp_path)
    with pytest.raises(DataNotFoundError, match=r"source 'events': parquet file .*events.parquet does not exist"):
        store.materialize()
    with pytest.raises(SchemaError, match=r"unknown feature view 'nope'; known views: \['things'\]"):
        store.training_frame(pd.DataFrame({"k": ["a"], "event_timestamp": [T0]}), ["nope"])


def test_csv_and_sql_sources_give_the_same_features_as_parquet(tmp_path):
    events = _simple_events()
    events.to_csv(tmp_path / "events.csv", index=False)
    events.to_parquet(tmp_path / "events.parquet", index=False)
    base = oracle_repo().model_dump()
    entity = pd.DataFrame({"k": ["a", "b"], "event_timestamp": pd.to_datetime(["2025-01-05 12:00", "2025-01-04 00:00"])})
    frames = []
    for source in (
        {"kind": "parquet", "path": "events.parquet"},
        {"kind": "csv", "path": "events.csv"},
        {"kind": "sql", "query": "SELECT * FROM raw_events WHERE v IS NOT NULL"},
    ):
        spec = dict(base, sources={"events": source, "raw_events": {"kind": "parquet", "path": "events.parquet"}})
        repo = FeatureRepoConfig.model_validate(spec)
        frames.append(FeatureStore(repo, tmp_path).training_frame(entity, ["things"]))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    pd.testing.assert_frame_equal(frames[0], frames[2])


def test_duckdb_table_source_gives_the_same_features_as_parquet(tmp_path):
    import duckdb

    events = _simple_events()
    events.to_parquet(tmp_path / "events.parquet", index=False)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.register("frame", events)
        con.execute("CREATE TABLE events AS SELECT * FROM frame")
    entity = pd.DataFrame({"k": ["a", "b"], "event_timestamp": pd.to_datetime(["2025-01-05 12:00", "2025-01-04 00:00"])})
    spec = oracle_repo().model_dump()
    parquet = FeatureStore(FeatureRepoConfig.model_validate(spec), tmp_path).training_frame(entity, ["things"])
    spec["sources"] = {"events": {"kind": "duckdb", "database": "warehouse.duckdb", "table": "events"}}
    table = FeatureStore(FeatureRepoConfig.model_validate(spec), tmp_path).training_frame(entity, ["things"])
    pd.testing.assert_frame_equal(parquet, table)


def test_decayed_counts_stay_exact_over_thousands_of_half_lives(tmp_path):
    """An hourly half-life over two years (17,000 half-lives) neither overflows nor loses the recent rows."""
    rng = np.random.default_rng(0)
    hours = np.sort(rng.choice(2 * 365 * 24, 300, replace=False))
    events = pd.DataFrame({"k": "a", "ts": T0 + pd.to_timedelta(hours, unit="h"), "created": T0, "v": 1.0, "label": "x"})
    repo = FeatureRepoConfig.model_validate(
        {
            "entities": {"thing": {"join_keys": ["k"]}},
            "sources": {"events": {"kind": "parquet", "path": "events.parquet"}},
            "feature_views": {"things": {"entities": ["thing"], "source": "events", "event_timestamp": "ts",
                                         "features": [_feature("recent", {"kind": "decay", "half_life": "1h"})]}},
        }
    )
    store = make_store(events, repo, tmp_path)
    when = T0 + pd.to_timedelta(np.sort(rng.integers(0, 2 * 365 * 24, 50)), unit="h") + pd.Timedelta(minutes=30)
    frame = store.training_frame(pd.DataFrame({"k": "a", "event_timestamp": when}), ["things"])
    for t, got in zip(when, frame["recent"], strict=True):
        age_h = ((t - events["ts"]) / HOUR).to_numpy()
        expected = np.exp2(-age_h[age_h > 0]).sum() if (age_h > 0).any() else np.nan
        assert np.isclose(got, expected, rtol=1e-12, equal_nan=True), (t, got, expected)


def test_config_errors_name_the_view_and_the_reference():
    spec = oracle_repo().model_dump()
    spec["feature_views"]["things"]["features"].append(_feature("bad", {"kind": "ratio", "numerator": "nope", "denominator": "latest_v"}))
    from kpredict.config import validate_config

    with pytest.raises(ConfigError, match=r"feature 'bad' refers to \['nope'\]"):
        validate_config(spec, FeatureRepoConfig, source="features.yaml")
    spec = oracle_repo().model_dump()
    spec["feature_views"]["things"]["ttll"] = "1d"
    with pytest.raises(ConfigError, match=r"unknown key 'ttll' in section 'feature_views.things'; did you mean 'ttl'\?"):
        validate_config(spec, FeatureRepoConfig, source="features.yaml")


@pytest.mark.parametrize("sub_second", [False, True])
def test_count_visible_agrees_with_counting_by_hand(sub_second):
    """Both search paths (whole-second keys; ranks of distinct times) give, for each query, the
    events of lower entities plus the entity's own events at or before the query time."""
    from kpredict.features.windows import SortedEvents, count_visible, search_order

    rng = np.random.default_rng(7)
    base = 1_700_000_000 * 10**9
    for _ in range(200):
        n, k = int(rng.integers(1, 120)), int(rng.integers(1, 10))
        codes = np.sort(rng.integers(0, k, n)).astype(np.int64)
        times = base + rng.integers(-20, 40, n).astype(np.int64) * 10**9 + (rng.integers(0, 3, n) if sub_second else 0)
        order = np.lexsort((times, codes))
        events = SortedEvents(codes[order], times[order])
        q_codes = rng.integers(0, k + 1, 50).astype(np.int64)
        q_times = base + rng.integers(-30, 50, 50).astype(np.int64) * 10**9
        for inclusive in (True, False):
            expected = [
                int((events.codes < c).sum() + ((events.codes == c) & ((events.times <= t) if inclusive else (events.times < t))).sum())
                for c, t in zip(q_codes, q_times)
            ]
            for time_order in (None, search_order(events, q_times)):
                assert count_visible(events, q_codes, q_times, inclusive=inclusive, time_order=time_order).tolist() == expected
