"""kpredict.explain: per-row top reasons in business words, global importance and charts."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kpredict.config.loader import load_config
from kpredict.errors import ConfigError, SchemaError
from kpredict.explain import global_importance, reason_columns, top_reasons
from kpredict.explain.formatting import format_cell, format_number
from kpredict.features.definitions import FeatureRepoConfig

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def features():
    repo = load_config(REPO / "configs" / "features.yaml", FeatureRepoConfig)
    return {f.name: f for view in repo.feature_views.values() for f in view.features}


def _reference(shap: np.ndarray, k: int, direction: str) -> list[list[int]]:
    """Row by row: qualifying features sorted by contribution (desc), ties by position."""
    chosen = []
    for row in shap:
        if direction == "increase":
            candidates = sorted((-value, j) for j, value in enumerate(row) if value > 0)
        else:
            candidates = sorted((-abs(value), j) for j, value in enumerate(row) if value != 0)
        chosen.append([j for _, j in candidates[:k]])
    return chosen


def _numeric_frame(n_rows: int, n_features: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n_rows, n_features)), columns=[f"f{j}" for j in range(n_features)])


@pytest.mark.parametrize("direction", ["increase", "both"])
@pytest.mark.parametrize(
    ("n_features", "k", "ties"),
    [(8, 3, False), (30, 3, False), (30, 5, True), (4, 4, True), (3, 6, False), (40, 1, True)],
)
def test_top_reasons_match_a_row_by_row_reference(direction, n_features, k, ties):
    rng = np.random.default_rng(n_features * 10 + k)
    n_rows = 400
    if ties:  # small integers: many equal contributions, zeros and rows with few positive ones
        shap = rng.integers(-3, 4, size=(n_rows, n_features)).astype(float)
    else:
        shap = rng.normal(size=(n_rows, n_features))
    contributions = np.column_stack([shap, np.full(n_rows, -1.5)])
    values = _numeric_frame(n_rows, n_features)

    reasons = top_reasons(contributions, values, {}, k=k, direction=direction)

    expected = _reference(shap, k, direction)
    for i in range(k):
        got = reasons[f"reason_{i + 1}_feature"].tolist()
        want = [f"f{row[i]}" if i < len(row) else "" for row in expected]
        assert got == want, f"reason {i + 1}"
        want_shap = [shap[r, row[i]] if i < len(row) else np.nan for r, row in enumerate(expected)]
        np.testing.assert_array_equal(reasons[f"reason_{i + 1}_shap"].to_numpy(), want_shap)


def test_reported_contributions_are_the_matrix_entries_and_the_input_is_untouched(features):
    rng = np.random.default_rng(3)
    values = _numeric_frame(50, 6)
    contributions = rng.normal(size=(50, 7)) * 1e-3 + 1e-9
    before = contributions.copy()
    values_before = values.copy()

    reasons = top_reasons(contributions, values, features, k=3)

    for i in range(1, 4):
        positions = reasons[f"reason_{i}_feature"].map(lambda name: int(name[1:]) if name else -1).to_numpy()
        has = positions >= 0
        entries = contributions[np.flatnonzero(has), positions[has]]
        assert np.array_equal(reasons.loc[has, f"reason_{i}_shap"].to_numpy(), entries)  # bit-for-bit
    assert np.array_equal(contributions, before)
    pd.testing.assert_frame_equal(values, values_before)


def _one_row(features, name, value, shap=1.0):
    values = pd.DataFrame({name: [value]})
    reasons = top_reasons(np.array([[shap, 0.0]]), values, features, k=1)
    return reasons.loc[0, "reason_1_value"], reasons.loc[0, "reason_1_en"], reasons.loc[0, "reason_1_zh"]


@pytest.mark.parametrize(
    ("name", "value", "neutral", "en", "zh"),
    [
        ("orders_trend_30d_vs_90d", -0.62, "-62%",
         "orders in the last 30 days vs the 90-day monthly average: down 62%", "近30天订单数相对前90天月均的变化：下降62%"),
        ("orders_trend_30d_vs_90d", 0.4, "+40%",
         "orders in the last 30 days vs the 90-day monthly average: up 40%", "近30天订单数相对前90天月均的变化：上升40%"),
        ("orders_trend_30d_vs_90d", 0.001, "0%",
         "orders in the last 30 days vs the 90-day monthly average: no change", "近30天订单数相对前90天月均的变化：无变化"),
        ("orders_30d", 1.0, "1", "orders in the last 30 days: 1", "近30天订单数：1"),
        ("spend_90d", 12345.678, "12,346", "spend in the last 90 days: 12,346", "近90天消费金额：12,346"),
        ("avg_order_value_90d", 45.678, "45.68", "average order value over 90 days: 45.68", "近90天平均客单价：45.68"),
        ("avg_order_value_90d", 150.25, "150.2", "average order value over 90 days: 150.2", "近90天平均客单价：150.2"),
        ("satisfaction_min_90d", 3.0, "3", "lowest satisfaction score over 90 days: 3", "近90天最低满意度：3"),
        ("max_severity_90d", 2.5, "2.5", "most severe ticket in the last 90 days: 2.5", "近90天最高工单严重度：2.5"),
        ("days_since_last_order", 45.2, "45", "days since the last order: 45 days", "距上次下单天数：45天"),
        ("days_since_last_order", 1.0, "1", "days since the last order: 1 day", "距上次下单天数：1天"),
        ("hours_since_last_txn", 3.0, "3", "hours since the previous payment: 3 hours", "距上笔交易小时数：3小时"),
        ("contract", "monthly", "monthly", "contract type: monthly", "合约类型：月付"),
        ("segment", "small_business", "small_business", "customer segment: small business", "客户分群：小微企业"),
        ("days_since_last_ticket", 0.5, "0.5", "days since the last support ticket: 12 hours", "距上次工单天数：12小时"),
        ("days_since_last_ticket", 0.01, "0.01", "days since the last support ticket: less than an hour", "距上次工单天数：不到1小时"),
        ("is_weekend", 1, "true", "weekend day: yes", "是否周末：是"),
        ("is_weekend", False, "false", "weekend day: no", "是否周末：否"),
        ("day_of_week", 2, "2", "day of the week (0 = Monday): Wednesday", "星期几（0为周一）：周三"),
        ("month", 3, "3", "month of the year: March", "月份：3月"),
        ("monthly_fee", 29.9, "29.9", "monthly fee: 29.9", "月费：29.9"),
    ],
)  # fmt: skip
def test_sentences_per_transform_kind_in_both_languages(features, name, value, neutral, en, zh):
    assert _one_row(features, name, value) == (neutral, en, zh)


@pytest.mark.parametrize(
    ("name", "en", "zh"),
    [
        ("satisfaction_mean_90d", "average satisfaction score over 90 days: no record", "近90天平均满意度：无记录"),
        ("days_since_last_order", "days since the last order: no record", "距上次下单天数：无记录"),
        ("orders_trend_30d_vs_90d",
         "orders in the last 30 days vs the 90-day monthly average: no record", "近30天订单数相对前90天月均的变化：无记录"),
    ],
)  # fmt: skip
def test_missing_values_read_as_no_record(features, name, en, zh):
    assert _one_row(features, name, np.nan) == ("NA", en, zh)


def test_a_missing_count_reads_as_zero_with_no_record(features):
    assert _one_row(features, "orders_30d", np.nan) == ("NA", "orders in the last 30 days: 0 (no record)", "近30天订单数：0（无记录）")


def test_reasons_say_which_way_they_push_the_score(features):
    values = pd.DataFrame({"orders_30d": [0.0], "spend_90d": [10.0]})
    words = {"up": {"en": "raises the risk", "zh": "提高流失风险"}, "down": {"en": "lowers the risk", "zh": "降低流失风险"}}
    reasons = top_reasons(np.array([[1.5, -0.5, 0.0]]), values, features, k=3, direction="both", effect_words=words)
    assert reasons.loc[0, "reason_1_en"] == "orders in the last 30 days: 0 (raises the risk)"
    assert reasons.loc[0, "reason_2_zh"] == "近90天消费金额：10（降低流失风险）"
    assert reasons.loc[0, "reason_3_en"] == ""  # a blank slot stays blank


def test_every_category_value_of_the_demo_has_a_chinese_label(features, small_demo):
    """The zh retention list shows no English category values (issue: "合约类型：monthly")."""
    tables = {"region": "customers", "segment": "customers", "acquisition_channel": "customers", "plan": "subscriptions", "contract": "subscriptions"}
    for name, table in tables.items():
        values = set(pd.read_parquet(small_demo / f"{table}.parquet")[name].dropna().astype(str))
        assert values <= set(features[name].value_labels), (name, values - set(features[name].value_labels))


def test_missing_category_and_none_read_as_no_record(features):
    values = pd.DataFrame({"contract": pd.Categorical([None, "annual"]), "plan": [None, "pro"]})
    contributions = np.array([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]])
    reasons = top_reasons(contributions, values, features, k=2)
    assert reasons["reason_1_en"].tolist() == ["contract type: no record", "contract type: annual"]
    assert reasons["reason_2_zh"].tolist() == ["订阅套餐：无记录", "订阅套餐：pro"]  # a value without a label stays as it is


def test_a_feature_without_a_definition_is_described_by_its_name(features):
    values = pd.DataFrame({"model_only_score": [1234.5], "flag": [True], "label": ["x<y"]})
    reasons = top_reasons(np.array([[3.0, 2.0, 1.0, 0.0]]), values, features, k=3)
    assert reasons.loc[0, "reason_1_en"] == "model_only_score: 1,234"
    assert reasons.loc[0, "reason_2_zh"] == "flag：是"
    assert reasons.loc[0, "reason_3_en"] == "label: x<y"


def test_only_features_that_raise_the_score_are_reasons_by_default(features):
    values = _numeric_frame(1, 4)
    contributions = np.array([[-5.0, 0.5, 0.0, 2.0, 0.1]])
    increase = top_reasons(contributions, values, features, k=3)
    assert increase.loc[0, ["reason_1_feature", "reason_2_feature", "reason_3_feature"]].tolist() == ["f3", "f1", ""]
    assert np.isnan(increase.loc[0, "reason_3_shap"])
    assert increase.loc[0, "reason_3_en"] == "" and increase.loc[0, "reason_3_zh"] == ""
    both = top_reasons(contributions, values, features, k=3, direction="both")
    assert both.loc[0, ["reason_1_feature", "reason_2_feature", "reason_3_feature"]].tolist() == ["f0", "f3", "f1"]
    assert both.loc[0, "reason_1_shap"] == -5.0


def test_k_larger_than_the_number_of_features(features):
    values = _numeric_frame(3, 2)
    contributions = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 0.0], [-1.0, -1.0, 0.0]])
    reasons = top_reasons(contributions, values, features, k=4)
    assert list(reasons.columns) == reason_columns(4)
    assert reasons["reason_1_feature"].tolist() == ["f1", "f0", ""]
    assert reasons["reason_2_feature"].tolist() == ["f0", "", ""]
    for i in (3, 4):
        assert (reasons[f"reason_{i}_feature"] == "").all() and (reasons[f"reason_{i}_en"] == "").all()
        assert reasons[f"reason_{i}_shap"].isna().all()


def test_zero_rows_give_an_empty_frame_with_every_column(features):
    values = pd.DataFrame({"orders_30d": pd.Series([], dtype=float), "contract": pd.Categorical([])})
    reasons = top_reasons(np.zeros((0, 3)), values, features, k=3)
    assert reasons.empty and list(reasons.columns) == reason_columns(3)
    assert reasons["reason_1_shap"].dtype == np.float64


def test_output_keeps_the_index_and_is_deterministic(features):
    rng = np.random.default_rng(7)
    values = _numeric_frame(200, 10).set_index(pd.Index(rng.permutation(1000)[:200], name="customer_id"))
    contributions = rng.integers(-2, 3, size=(200, 11)).astype(float)
    first = top_reasons(contributions, values, features, k=3)
    second = top_reasons(contributions.copy(), values.copy(), features, k=3)
    pd.testing.assert_frame_equal(first, second)
    assert first.index.equals(values.index)


def test_shape_mismatch_and_bad_arguments_are_clear_errors(features):
    values = _numeric_frame(5, 3)
    with pytest.raises(SchemaError, match=r"expected \(5, 4\).*base value last"):
        top_reasons(np.zeros((5, 3)), values, features)
    with pytest.raises(SchemaError, match=r"2-D array"):
        top_reasons(np.zeros(5), values, features)
    bad = np.zeros((5, 4))
    bad[1, 2] = np.nan
    with pytest.raises(SchemaError, match=r"1 non-finite value"):
        top_reasons(bad, values, features)
    with pytest.raises(ConfigError, match=r"k must be a positive integer"):
        top_reasons(np.zeros((5, 4)), values, features, k=0)
    with pytest.raises(ConfigError, match=r"direction must be"):
        top_reasons(np.zeros((5, 4)), values, features, direction="decrease")
    duplicated = pd.DataFrame(np.zeros((5, 3)), columns=["a", "b", "a"])
    with pytest.raises(SchemaError, match=r"duplicated feature columns \['a'\]"):
        top_reasons(np.zeros((5, 4)), duplicated, features)


def test_error_messages_hold_no_data_values(features):
    values = pd.DataFrame({"secret_col": [987654.321]})
    with pytest.raises(SchemaError) as excinfo:
        top_reasons(np.array([[np.inf, 0.0]]), values, features)
    assert "987654" not in str(excinfo.value) and "inf" not in str(excinfo.value).replace("infinite", "")


def test_format_number_rounding():
    assert [format_number(v) for v in (0.0, -0.001, 3.0, 3.456, 150.25, 1234.5, -98765.4)] == [
        "0", "0", "3", "3.46", "150.2", "1,234", "-98,765",
    ]  # fmt: skip
    assert format_cell(float("inf"), "change")[0] == "∞"


def test_importing_explain_stays_light():
    code = (
        "import sys, kpredict.explain; print(','.join(m for m in ('pandas', 'matplotlib', 'shap') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_global_importance_is_the_mean_absolute_contribution_sorted():
    contributions = np.array([[1.0, -4.0, 0.5, 9.0], [-3.0, 2.0, 0.5, 9.0]])
    importance = global_importance(contributions, ["a", "b", "c"])
    assert importance["feature"].tolist() == ["b", "a", "c"]
    np.testing.assert_allclose(importance["mean_abs_shap"], [3.0, 2.0, 0.5])
    np.testing.assert_allclose(importance["mean_shap"], [-1.0, -1.0, 0.5])
    np.testing.assert_allclose(importance["share"].sum(), 1.0)
    without_base = global_importance(contributions[:, :3], ["a", "b", "c"])
    pd.testing.assert_frame_equal(importance, without_base)
    tied = global_importance(np.array([[1.0, 1.0, 0.0]]), ["x", "y"])
    assert tied["feature"].tolist() == ["x", "y"]
    with pytest.raises(SchemaError, match=r"for 2 feature names"):
        global_importance(np.zeros((2, 5)), ["a", "b"])


# ---------------------------------------------------------------- charts


def _tick_labels(fig):
    """Y tick labels from the top of the chart down."""
    ax = fig.axes[0]
    pairs = zip(ax.get_yticks(), (label.get_text() for label in ax.get_yticklabels()))
    return [text for _, text in sorted(pairs, reverse=True)]


def test_importance_bar_is_labelled_with_descriptions(features):
    from matplotlib.figure import Figure

    from kpredict.explain import plot_importance_bar

    importance = pd.DataFrame({"feature": ["orders_30d", "tenure_days", "not_defined"], "mean_abs_shap": [0.3, 0.2, 0.1]})
    fig = plot_importance_bar(importance, features, lang="en", top=2)
    assert isinstance(fig, Figure)
    assert _tick_labels(fig) == ["orders in the last 30 days", "days since sign-up"]
    bars = sorted((patch.get_y(), patch.get_width()) for patch in fig.axes[0].patches)
    assert [width for _, width in bars] == [0.2, 0.3]  # the largest on top


def test_chinese_labels_fall_back_to_feature_names_without_a_cjk_font(features, monkeypatch, caplog):
    from kpredict.explain import plot_importance_bar, plots

    monkeypatch.setattr(plots, "cjk_font_family", lambda: None)
    importance = pd.DataFrame({"feature": ["orders_30d", "tenure_days"], "mean_abs_shap": [0.3, 0.2]})
    with caplog.at_level("WARNING", logger="kpredict.explain.plots"):
        fig = plot_importance_bar(importance, features, lang="zh")
    assert _tick_labels(fig) == ["orders_30d", "tenure_days"]
    assert "no CJK font" in caplog.text
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a UserWarning: the fallback must draw cleanly
        plots.figure_to_png(fig)


def test_chinese_labels_use_descriptions_when_a_cjk_font_exists(features, monkeypatch):
    from kpredict.explain import plot_importance_bar, plots

    monkeypatch.setattr(plots, "cjk_font_family", lambda: "Some CJK Font")
    importance = pd.DataFrame({"feature": ["orders_30d"], "mean_abs_shap": [0.3]})
    fig = plot_importance_bar(importance, features, lang="zh")
    label = fig.axes[0].get_yticklabels()[0]
    assert label.get_text() == "近30天订单数"
    assert label.get_fontfamily()[0] == "Some CJK Font"


def test_chinese_chart_renders_every_glyph_with_the_font_found_here(features):
    from kpredict.explain import plot_importance_bar
    from kpredict.explain.fonts import cjk_font_family
    from kpredict.explain.plots import figure_to_png

    importance = pd.DataFrame({"feature": ["orders_30d", "contract"], "mean_abs_shap": [0.3, 0.2]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = figure_to_png(plot_importance_bar(importance, features, lang="zh"))
    assert png.startswith(b"\x89PNG")
    assert not [w for w in caught if "missing from font" in str(w.message)], cjk_font_family()


def test_beeswarm_shows_the_top_features_and_renders():
    from matplotlib.figure import Figure

    from kpredict.explain import plot_beeswarm
    from kpredict.explain.plots import figure_to_png

    rng = np.random.default_rng(0)
    n = 3000
    values = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": pd.Categorical(rng.choice(["x", "y"], n))})
    values.loc[::10, "a"] = np.nan
    contributions = np.column_stack([values["a"].fillna(0) * 2, rng.normal(scale=0.1, size=n), rng.normal(size=n), np.zeros(n)])
    fig = plot_beeswarm(contributions, values, ["a", "b", "c"], top=2, max_points=1000)
    assert isinstance(fig, Figure)
    assert _tick_labels(fig) == ["a", "c"]  # a has the largest mean |contribution|
    drawn = sum(len(collection.get_offsets()) for collection in fig.axes[0].collections)
    assert drawn == 2 * 1000
    assert figure_to_png(fig).startswith(b"\x89PNG")
    with pytest.raises(SchemaError, match=r"one column per feature"):
        plot_beeswarm(contributions, values[["a", "b"]], ["a", "b", "c"])
