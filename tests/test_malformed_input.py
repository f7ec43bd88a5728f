"""Malformed input files and option values through the CLI: exit 0 or 2, one line, nothing partial.

What a careless upstream job hands a scheduled `kpredict score --input`: empty files, the wrong
format for the extension, compressed or truncated files, nested columns, other delimiters, and
option values nobody validated. Run in-process (CliRunner) so that a property test stays fast.
"""

from __future__ import annotations

import gzip
import io
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from pyarrow import ArrowException
from hypothesis import strategies as st
from typer.testing import CliRunner

from kpredict.cli.main import app

AS_OF = "2026-10-01"


@pytest.fixture(scope="module")
def churn_cli(churn_project, tmp_path_factory):
    """(config YAML path, a valid features table) for the churn model trained on the small demo."""
    from kpredict.pipelines.churn.scoring import PLUGIN
    from kpredict.scoring.bundle import load_bundle
    from kpredict.scoring.plugin import NoParams, ScoringContext

    _, config, _ = churn_project
    folder = tmp_path_factory.mktemp("malformed")
    path = folder / "churn.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    frame = PLUGIN.scoring_input(ScoringContext("churn", config, pd.Timestamp(AS_OF), load_bundle("churn"), NoParams())).frame
    return path, frame.head(40).reset_index(drop=True)


def _invoke(config, input_file, out_dir, *options):
    args = ["score", "churn", "--as-of", AS_OF, "--config", str(config), "--output-dir", str(out_dir), "--out", "scores.parquet"]
    if input_file is not None:
        args += ["--input", str(input_file)]
    return CliRunner().invoke(app, [*args, *options])


def _visible(folder):
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _files(frame: pd.DataFrame) -> dict[str, tuple[str, bytes, str]]:
    """name → (file name, bytes, what the one-line error must say)."""
    csv = frame.to_csv(index=False).encode()
    nested = frame.assign(orders_30d=[[1, 2]] * len(frame))
    return {
        "empty csv": ("in.csv", b"", r"is empty"),
        "empty parquet": ("in.parquet", b"", r"is empty"),
        "parquet named .csv": ("in.csv", _parquet_bytes(frame), r"is a parquet file named \.csv"),
        "gzip csv named .csv": ("in.csv", gzip.compress(csv), r"is gzip-compressed"),
        "garbage named .parquet": ("in.parquet", b"\x00\x01garbage" * 50, r"is not a parquet file"),
        "csv named .parquet": ("in.parquet", csv, r"is not a parquet file .*looks like text"),
        "truncated parquet": ("in.parquet", _parquet_bytes(frame)[:700], r"cannot be read as parquet"),
        "nested column": ("in.parquet", _parquet_bytes(nested), r"nested columns \['orders_30d'\]"),
        "semicolons": ("in.csv", frame.to_csv(index=False, sep=";").encode(), r"separated by semicolons"),
        "latin-1": ("in.csv", "customer_id\nCafé\n".encode("latin-1"), r"is not UTF-8"),
        "wrong extension": ("in.xlsx", csv, r"must end with \.parquet or \.csv"),
    }


@pytest.mark.parametrize(
    "case",
    ["empty csv", "empty parquet", "parquet named .csv", "gzip csv named .csv", "garbage named .parquet", "csv named .parquet",
     "truncated parquet", "nested column", "semicolons", "latin-1", "wrong extension"],
)
def test_a_malformed_input_file_is_exit_2_naming_the_file_and_writes_nothing(churn_cli, tmp_path, case):
    config, frame = churn_cli
    name, content, expected = _files(frame)[case]
    path = tmp_path / name
    path.write_bytes(content)
    result = _invoke(config, path, tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and str(path.name) in result.output
    assert len(result.output.strip().splitlines()) <= 3  # one message (wrapped at most a little)
    assert re.search(expected, " ".join(result.output.split())), result.output
    assert _visible(tmp_path / "out") == []


def test_a_byte_order_mark_from_excel_is_accepted(churn_cli, tmp_path):
    config, frame = churn_cli
    path = tmp_path / "in.csv"
    path.write_bytes(frame.to_csv(index=False).encode("utf-8-sig"))
    result = _invoke(config, path, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert _visible(tmp_path / "out") == ["scores.manifest.json", "scores.parquet"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--explain-top", "abc"], r"explain_top must be 'all', a count"),
        (["--explain-top", "nan"], r"explain_top must be"),
        (["--explain-top", "inf"], r"explain_top must be"),
        (["--explain-top", "-3"], r"explain_top must be"),
        (["--model", "1.5"], r"model must be an alias such as 'champion' or a version number"),
        (["--model", "-1"], r"model must be an alias"),
        (["--engine", "spark"], r"engine must be one of \['local', 'dask'\]"),
    ],
)
def test_bad_option_values_are_exit_2_with_the_allowed_forms_before_any_work(churn_cli, tmp_path, options, expected):
    config, _ = churn_cli
    result = _invoke(config, None, tmp_path / "out", *options)
    assert result.exit_code == 2, result.output
    assert re.search(expected, " ".join(result.output.split())), result.output
    assert "Traceback" not in result.output and _visible(tmp_path / "out") == []


@pytest.mark.parametrize("as_of", ["2026-11-01T00:00:00+05:00", "now", "today", "yesterday", "2026-13-01", ""])
def test_as_of_must_be_an_explicit_date_without_a_time_zone(churn_cli, tmp_path, as_of):
    config, _ = churn_cli
    result = CliRunner().invoke(app, ["score", "churn", "--as-of", as_of, "--config", str(config), "--output-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "as_of must be a date like 2026-11-01" in " ".join(result.output.split()) and "Traceback" not in result.output


def test_an_unknown_feature_view_is_exit_2_listing_the_known_ones(tmp_path):
    result = CliRunner().invoke(app, ["features", "materialize", "--view", "no_such_view", "--store", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "unknown feature view 'no_such_view'; known views:" in " ".join(result.output.split())


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(churn_cli, tmp_path, monkeypatch):
    from kpredict.scoring import interface

    def broken(*args, **kwargs):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(interface, "read_features_table", broken)
    config, frame = churn_cli
    path = tmp_path / "in.csv"
    frame.to_csv(path, index=False)
    result = _invoke(config, path, tmp_path / "out")
    assert result.exit_code == 1
    assert "unexpected error: RuntimeError: something nobody foresaw (run with --debug for the traceback)" in " ".join(result.output.split())
    debug = CliRunner().invoke(app, ["--debug", "score", "churn", "--as-of", AS_OF, "--config", str(config), "--input", str(path), "--output-dir", str(tmp_path)])
    assert isinstance(debug.exception, RuntimeError)


_MUTATIONS = ["none", "drop column", "text in numbers", "infinity", "nested", "duplicate keys", "missing keys", "unicode", "huge"]
_ENCODINGS = ["parquet", "csv", "csv;", "gzip", "truncated", "empty"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    mutation=st.sampled_from(_MUTATIONS),
    encoding=st.sampled_from(_ENCODINGS),
    rows=st.integers(0, 12),
    explain=st.one_of(st.none(), st.sampled_from(["all", "10%", "3", "0.5", "abc", "nan", "-inf", "1e400", "%"]), st.text(max_size=6)),
    seed=st.integers(0, 2**16),
)
def test_random_malformed_tables_and_options_end_in_exit_0_or_2_never_a_traceback(churn_cli, tmp_path_factory, mutation, encoding, rows, explain, seed):
    config, frame = churn_cli
    rng = np.random.default_rng(seed)
    table = frame.head(rows).copy()
    numeric = [c for c in table.columns if c != "customer_id" and pd.api.types.is_numeric_dtype(table[c])]
    column = numeric[int(rng.integers(len(numeric)))]
    if mutation == "drop column":
        table = table.drop(columns=[column])
    elif mutation == "text in numbers" and rows:
        table[column] = table[column].astype(object)
        table.loc[0, column] = "twelve"
    elif mutation == "infinity" and rows:
        table.loc[0, column] = np.inf
    elif mutation == "nested" and rows:
        table[column] = [[1.0, 2.0]] * rows
    elif mutation == "duplicate keys" and rows > 1:
        table.loc[1, "customer_id"] = table.loc[0, "customer_id"]
    elif mutation == "missing keys" and rows:
        table["customer_id"] = table["customer_id"].astype(object)
        table.loc[0, "customer_id"] = None
    elif mutation == "unicode" and rows:
        table["customer_id"] = [f"客户-{i}-ü" for i in range(rows)]
    elif mutation == "huge" and rows:
        table.loc[0, column] = 1e300
    folder = tmp_path_factory.mktemp("case")
    suffix = ".parquet" if encoding in ("parquet", "truncated") else ".csv"
    path = folder / f"in{suffix}"
    try:
        parquet = _parquet_bytes(table)
    except (TypeError, ValueError, ArrowException):  # pyarrow cannot even write some mixed columns: an upstream job could not either
        parquet = _parquet_bytes(table.astype(str))
    content = {
        "parquet": parquet,
        "truncated": parquet[: len(parquet) // 2],
        "csv": table.to_csv(index=False).encode(),
        "csv;": table.to_csv(index=False, sep=";").encode(),
        "gzip": gzip.compress(table.to_csv(index=False).encode()),
        "empty": b"",
    }[encoding]
    path.write_bytes(content)
    options = [] if explain is None else ["--explain-top", explain]
    result = _invoke(config, path, folder / "out", *options)
    assert result.exit_code in (0, 2), (result.exit_code, result.output, repr(result.exception))
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.output.startswith("error:") and _visible(folder / "out") == []
    else:
        assert _visible(folder / "out")[-2:] == ["scores.manifest.json", "scores.parquet"]
        scored = pd.read_parquet(folder / "out" / "scores.parquet")
        assert len(scored) <= rows and scored["churn_probability"].between(0, 1).all()


def test_an_output_folder_that_cannot_be_created_is_exit_2_naming_it(churn_cli, tmp_path):
    config, _ = churn_cli
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    result = CliRunner().invoke(app, ["score", "churn", "--as-of", AS_OF, "--config", str(config), "--out", str(blocker / "scores.parquet")])
    assert result.exit_code == 2, result.output
    assert " ".join(result.output.split()).startswith(f"error: cannot write {blocker}")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("pipeline", "options", "expected"),
    [
        ("risk_anomaly", ["--window", "abc"], r"window"),
        ("risk_anomaly", ["--window", "-1d"], r"window"),
        ("risk_anomaly", ["--windw", "1d"], r"windw"),
        ("risk_anomaly", ["--explain-top", "inf"], r"explain_top must be"),
        ("budget", ["--budget", "nan"], r"budget"),
        ("budget", ["--weeks", "1.5"], r"weeks"),
        ("budget", ["--as-of", "now"], r"as_of must be a date"),
        ("sales_forecast", ["--input", "x.csv"], r"input_path does not apply"),
        ("sales_forecast", ["--as-of", "2026-11-01T00:00:00Z"], r"with a time zone"),
    ],
)
def test_the_other_pipelines_refuse_bad_values_with_exit_2_before_a_model_is_needed(tmp_path, pipeline, options, expected):
    args = ["score", pipeline, "--output-dir", str(tmp_path)]
    if "--as-of" not in options:
        args += ["--as-of", AS_OF]
    result = CliRunner().invoke(app, [*args, *options])
    assert result.exit_code == 2, result.output
    assert re.search(expected, " ".join(result.output.split())) and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []
