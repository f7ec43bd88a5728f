"""Scheduled jobs: ``configs/jobs.yaml`` lists what to score (or retrain) each day; one command runs them.

Why one runner rather than one cron line per pipeline: the jobs share one date, one output folder
and one tracking check, one failing job must not stop the others, and the scheduler needs one exit
code and one summary file saying what happened to each. Each scoring job writes its output set
atomically with its manifest and under its output's lock (:mod:`kpredict.fileset`), so re-running
a date gives identical files and two runs never write the same output at once.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kpredict.config.loader import ConfigModel
from kpredict.errors import ConfigError, KPredictError

__all__ = ["Job", "JobOutcome", "JobsConfig", "JobsRun", "run_jobs"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class Job(ConfigModel):
    """One job: score a pipeline as of the run's date (or retrain it, the gate deciding what serves)."""

    name: str = Field(description="job name: letters, digits, '_' and '-' (it names the output file)")
    pipeline: str = Field(description="a pipeline name ('kpredict pipelines' lists them)")
    kind: Literal["score", "train"] = Field("score", description="score with the champion, or retrain and gate")
    config: str | None = Field(None, description="pipeline YAML (default configs/<pipeline>.yaml)")
    model: str = Field("champion", description="alias or version number to score with")
    out: str = Field("{name}_{as_of}.parquet", description="output file inside output_dir; {name} and {as_of} are filled in")
    params: dict[str, Any] = Field(default_factory=dict, description="the pipeline's own scoring parameters, e.g. {window: 1d}")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(f"job name must be letters, digits, '_' or '-' (it names a file); got {value!r}")
        return value

    @field_validator("out")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            value.format(name="job", as_of="2026-01-01")
        except (KeyError, IndexError, ValueError):
            raise ValueError(f"out may only use the placeholders {{name}} and {{as_of}}; got {value!r}") from None
        return value


class JobsConfig(ConfigModel):
    """``configs/jobs.yaml``: where outputs go and the jobs, run in the order listed."""

    output_dir: str = Field("output/jobs", description="folder of every job's output and of the run summary")
    jobs: list[Job] = Field(min_length=1, description="the jobs, in the order they run")

    @model_validator(mode="after")
    def _unique_names(self) -> JobsConfig:
        names = [job.name for job in self.jobs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"job names must be unique; repeated: {repeated}")
        return self


@dataclass
class JobOutcome:
    """What happened to one job: ``ok`` or ``failed`` with the exit code and the one-line error."""

    name: str
    pipeline: str
    kind: str
    status: str
    exit_code: int
    seconds: float
    output: str | None = None
    manifest: str | None = None
    message: str = ""


@dataclass
class JobsRun:
    """Every job's outcome, the run's exit code (0, or the first failed job's), and the summary file."""

    as_of: str
    outcomes: list[JobOutcome] = field(default_factory=list)
    summary: Path | None = None

    @property
    def exit_code(self) -> int:
        return next((o.exit_code for o in self.outcomes if o.exit_code), 0)


def run_jobs(config: JobsConfig | str | Path = "configs/jobs.yaml", as_of: str = "", *, only: list[str] | None = None, console: Any = None) -> JobsRun:
    """Run the jobs of ``config`` as of ``as_of``; a failing job is recorded and the next one runs.

    Raises:
        ConfigError: the jobs file is invalid, or ``only`` names no job of it (nothing runs).
        TrackingUnavailableError: the tracking server does not answer (nothing runs).
    """
    from kpredict.config import load_config
    from kpredict.io import write_text
    from kpredict.scoring.interface import _parse_as_of
    from kpredict.tracking.store import check_reachable

    settings = config if isinstance(config, JobsConfig) else load_config(Path(config), JobsConfig)
    stamp = _parse_as_of(as_of)
    jobs = settings.jobs
    if only:
        unknown = sorted(set(only) - {job.name for job in jobs})
        if unknown:
            raise ConfigError(f"no job named {unknown}; the jobs are {[job.name for job in jobs]}")
        jobs = [job for job in jobs if job.name in only]
    check_reachable()
    run = JobsRun(as_of=stamp.isoformat())
    for position, job in enumerate(jobs, start=1):
        outcome = _run_one(job, stamp, Path(settings.output_dir))
        run.outcomes.append(outcome)
        if console is not None:
            where = f" -> {outcome.output}" if outcome.output else ""
            mark = "ok" if outcome.status == "ok" else f"FAILED (exit {outcome.exit_code}): {outcome.message}"
            console.print(f"[{position}/{len(jobs)}] {job.name} ({job.kind} {job.pipeline}) {mark}{where} in {outcome.seconds:.1f} s", markup=False)
    summary = Path(settings.output_dir) / f"run-jobs_{stamp.date().isoformat()}.json"
    content = {"as_of": run.as_of, "exit_code": run.exit_code, "jobs": [_stable(asdict(o)) for o in run.outcomes]}
    write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", summary)
    run.summary = summary
    return run


def _run_one(job: Job, stamp, output_dir: Path) -> JobOutcome:
    started = time.perf_counter()
    outcome = JobOutcome(job.name, job.pipeline, job.kind, "ok", 0, 0.0)
    try:
        if job.kind == "train":
            from kpredict.pipeline import get_pipeline
            from kpredict.progress import progress_bar

            with progress_bar(f"job {job.name}: training {job.pipeline}", None):
                result = get_pipeline(job.pipeline).train(job.config)
            outcome.message = f"version {result.model_version}: {result.promotion_reason}"
        else:
            from kpredict.scoring import score

            out = job.out.format(name=job.name, as_of=stamp.date().isoformat())
            scored = score(job.pipeline, stamp, model=job.model, out=out, output_dir=output_dir, config=job.config, **job.params)
            outcome.output, outcome.manifest = str(scored.output), str(scored.manifest)
    except KPredictError as exc:
        outcome.status, outcome.exit_code, outcome.message = "failed", exc.exit_code, str(exc)
        logger.info("job %s failed (exit %d): %s", job.name, exc.exit_code, exc)
    except Exception as exc:  # one job's surprise must not stop the others; its traceback is logged (-v)
        logger.info("job %s failed unexpectedly", job.name, exc_info=True)
        outcome.status, outcome.exit_code, outcome.message = "failed", 1, f"unexpected error: {type(exc).__name__}: {exc}"
    outcome.seconds = time.perf_counter() - started
    return outcome


def _stable(record: dict[str, Any]) -> dict[str, Any]:
    """The summary without timings, so that re-running a date rewrites the same bytes."""
    return {k: v for k, v in record.items() if k != "seconds"}
