"""`kpredict run-jobs`: the jobs of a jobs file, one failing without stopping the others, re-runs identical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kpredict.cli.main import app
from kpredict.errors import ConfigError
from kpredict.hashing import file_hash

AS_OF = "2026-10-01"


def _yaml(model, path: Path) -> str:
    path.write_text(yaml.safe_dump(model.model_dump(mode="json")), encoding="utf-8")
    return str(path)


@pytest.fixture
def jobs_file(churn_project, sales_project, tmp_path):
    jobs = {
        "output_dir": str(tmp_path / "jobs"),
        "jobs": [
            {"name": "replenishment", "pipeline": "sales_forecast", "config": _yaml(sales_project[1], tmp_path / "sales.yaml")},
            {"name": "missing_model", "pipeline": "churn", "model": "99", "config": _yaml(churn_project[1], tmp_path / "churn.yaml")},
            {"name": "retention", "pipeline": "churn", "config": str(tmp_path / "churn.yaml"), "out": "retention/{as_of}.csv"},
        ],
    }
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml.safe_dump(jobs, sort_keys=False), encoding="utf-8")
    return path


def test_a_failing_job_does_not_stop_the_others_and_the_exit_code_reports_it(jobs_file, tmp_path):
    result = CliRunner().invoke(app, ["run-jobs", "--as-of", AS_OF, "--jobs", str(jobs_file)])
    assert result.exit_code == 3, result.output  # the missing model's exit code
    text = " ".join(result.output.split())
    assert "[2/3] missing_model (score churn) FAILED (exit 3)" in text and "2 of 3 job(s) ok; failed: missing_model" in text
    summary = json.loads((tmp_path / "jobs" / f"run-jobs_{AS_OF}.json").read_text())
    assert summary["exit_code"] == 3
    assert [(j["name"], j["status"], j["exit_code"]) for j in summary["jobs"]] == [
        ("replenishment", "ok", 0), ("missing_model", "failed", 3), ("retention", "ok", 0),
    ]
    for job in (summary["jobs"][0], summary["jobs"][2]):
        manifest = json.loads(Path(job["manifest"]).read_text())
        assert manifest["output"]["sha256"] == file_hash(Path(job["output"]))  # each job atomic with its manifest
    assert (tmp_path / "jobs" / "retention" / f"{AS_OF}.csv").is_file()


def test_running_the_same_date_twice_gives_identical_outputs(jobs_file, tmp_path):
    from kpredict.jobs import run_jobs

    def state():
        files = sorted(p for p in (tmp_path / "jobs").rglob("*") if p.is_file() and ".sets" not in str(p) and not p.name.startswith("."))
        found = {}
        for path in files:
            if path.name.endswith(".manifest.json"):  # everything but how long it took
                found[path] = {k: v for k, v in json.loads(path.read_text()).items() if k != "timings_s"}
            else:
                found[path] = file_hash(path)
        return found

    first = run_jobs(jobs_file, AS_OF, only=["replenishment", "retention"])
    before = state()
    second = run_jobs(jobs_file, AS_OF, only=["replenishment", "retention"])
    assert first.exit_code == second.exit_code == 0
    assert state() == before  # outputs and companions byte for byte, manifests, the run summary
    assert len(before) >= 6


def test_a_second_run_writing_the_same_output_is_stopped_by_the_lock(jobs_file, tmp_path):
    from kpredict.fileset import output_lock
    from kpredict.jobs import run_jobs

    with output_lock(tmp_path / "jobs" / "retention" / f"{AS_OF}.csv"):
        run = run_jobs(jobs_file, AS_OF, only=["retention", "replenishment"])
    outcomes = {o.name: o for o in run.outcomes}
    assert outcomes["retention"].exit_code == 2 and "another kpredict run is writing" in outcomes["retention"].message
    assert outcomes["replenishment"].status == "ok" and run.exit_code == 2


def test_a_jobs_file_is_checked_before_anything_runs(tmp_path):
    from kpredict.jobs import run_jobs

    bad = tmp_path / "jobs.yaml"
    bad.write_text("jobs:\n  - {name: ../escape, pipeline: churn}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"job name must be letters, digits"):
        run_jobs(bad, AS_OF)
    bad.write_text("jobs:\n  - {name: a, pipeline: churn}\n  - {name: a, pipeline: budget}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"repeated: \['a'\]"):
        run_jobs(bad, AS_OF)
    bad.write_text("jobs:\n  - {name: a, pipeline: churn, out: '{date}.parquet'}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"out may only use the placeholders \{name\} and \{as_of\}"):
        run_jobs(bad, AS_OF)
    good = tmp_path / "good.yaml"
    good.write_text("jobs:\n  - {name: a, pipeline: churn}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"no job named \['b'\]; the jobs are \['a'\]"):
        run_jobs(good, AS_OF, only=["b"])
    assert not (tmp_path / "output").exists()


def test_the_repository_jobs_file_names_every_scoring_pipeline():
    from kpredict.config import load_config
    from kpredict.jobs import JobsConfig
    from kpredict.pipeline import scoring_pipelines

    repo = Path(__file__).resolve().parents[1]
    jobs = load_config(repo / "configs" / "jobs.yaml", JobsConfig)
    assert sorted({job.pipeline for job in jobs.jobs}) == sorted(scoring_pipelines())
