"""Config loading: strict keys, safe YAML, precedence, and `kpredict config check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpredict.config import check_configs, load_config
from kpredict.config.demo import DemoConfig
from kpredict.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_repository_configs_are_valid():
    loaded = check_configs(REPO / "configs")
    assert {"features", "demo"} <= set(loaded)


def test_unknown_key_names_file_section_and_suggestion(tmp_path):
    path = write(tmp_path / "demo.yaml", "size: small\nseeed: 3\n")
    with pytest.raises(ConfigError, match=r"(?s)demo.yaml: 1 invalid setting.*unknown key 'seeed' at the top level; did you mean 'seed'\?"):
        load_config(path, DemoConfig)


def test_wrong_type_names_key_and_expectation(tmp_path):
    path = write(tmp_path / "demo.yaml", "size: huge\nseed: -1\n")
    with pytest.raises(ConfigError, match=r"(?s)size: Input should be 'small', 'default' or 'large'.*seed: Input should be greater than or equal to 0"):
        load_config(path, DemoConfig)


def test_demo_trials_name_pipelines_that_tune(tmp_path):
    path = write(tmp_path / "demo.yaml", "trials: {churn: 15, sales_forecast: 3}\n")
    with pytest.raises(ConfigError, match=r"trials names pipeline\(s\) \['sales_forecast'\] that do not tune; pipelines that do: \['budget', 'churn'\]"):
        load_config(path, DemoConfig)
    assert load_config(write(tmp_path / "ok.yaml", "trials: {churn: 15}\n"), DemoConfig).trials == {"churn": 15}


def test_python_tags_are_refused(tmp_path):
    path = write(tmp_path / "demo.yaml", "size: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match=r"demo.yaml at line 1: invalid YAML .*only plain YAML"):
        load_config(path, DemoConfig)


def test_duplicate_keys_are_refused(tmp_path):
    path = write(tmp_path / "demo.yaml", "seed: 1\nsize: small\nseed: 2\n")
    with pytest.raises(ConfigError, match=r"duplicate key 'seed' at line 3 \(first at line 1\)"):
        load_config(path, DemoConfig)


def test_precedence_cli_over_environment_over_yaml_over_defaults(tmp_path):
    path = write(tmp_path / "demo.yaml", "seed: 1\n")
    assert load_config(path, DemoConfig, environ={}).size == "default"  # default
    assert load_config(path, DemoConfig, environ={}).seed == 1  # YAML over default
    env = {"KPREDICT_DEMO__SEED": "2"}
    assert load_config(path, DemoConfig, environ=env).seed == 2  # environment over YAML
    assert load_config(path, DemoConfig, environ=env, overrides={"seed": 3}).seed == 3  # CLI over environment


def test_environment_values_are_validated_too(tmp_path):
    path = write(tmp_path / "demo.yaml", "seed: 1\n")
    with pytest.raises(ConfigError, match=r"seed: Input should be a valid integer"):
        load_config(path, DemoConfig, environ={"KPREDICT_DEMO__SEED": "many"})


def test_check_configs_reports_every_bad_file_and_stray_files(tmp_path):
    write(tmp_path / "demo.yaml", "sizee: small\n")
    write(tmp_path / "churnn.yaml", "a: 1\n")
    with pytest.raises(ConfigError, match=r"(?s)no schema is registered for config file 'churnn.yaml'.*unknown key 'sizee'"):
        check_configs(tmp_path)


def test_features_yaml_errors_name_the_nested_key(tmp_path):
    text = (REPO / "configs" / "features.yaml").read_text(encoding="utf-8")
    broken = text.replace("transform: {kind: window, agg: count, window: 30d}", "transform: {kind: window, agg: count, window: 30 days}", 1)
    path = write(tmp_path / "features.yaml", broken)
    from kpredict.features import FeatureRepoConfig

    with pytest.raises(ConfigError, match=r"feature_views.customer_orders.features\[2\].transform.window.window: Value error, expected a duration like '30d'"):
        load_config(path, FeatureRepoConfig)


def test_a_churn_baseline_with_one_spline_knot_is_refused_naming_the_option(tmp_path):
    from kpredict.pipelines.churn.config import ChurnConfig

    text = (REPO / "configs" / "churn.yaml").read_text(encoding="utf-8").replace("baseline_spline_knots: 6", "baseline_spline_knots: 1")
    path = write(tmp_path / "churn.yaml", text)
    with pytest.raises(ConfigError, match=r"(?s)churn.yaml.*model.baseline_spline_knots must be 0 \(straight lines\) or at least 2"):
        load_config(path, ChurnConfig)
    assert load_config(write(tmp_path / "straight.yaml", text.replace("knots: 1", "knots: 0")), ChurnConfig).model.baseline_spline_knots == 0
