"""`kpredict ...`: the command line. Heavy libraries are imported inside commands so that
``kpredict --help`` stays fast.

Exit codes (../shared/RELIABILITY.md): 0 success, 2 invalid input or config, 3 model not found,
4 infeasible request, 1 anything unexpected.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from kpredict.errors import ConfigError, KPredictError

app = typer.Typer(
    name="kpredict",
    help="Predictive analytics for four recurring decisions: stock, retain, investigate, spend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: flags read "--strict", not "--strict <bool>", and lines wrap to the terminal
)
data_app = typer.Typer(rich_markup_mode=None, help="The embedded demo company.", no_args_is_help=True)
features_app = typer.Typer(rich_markup_mode=None, help="The feature store: list, show and materialise feature views.", no_args_is_help=True)
config_app = typer.Typer(rich_markup_mode=None, help="Validate configuration files.", no_args_is_help=True)
models_app = typer.Typer(rich_markup_mode=None, help="The model registry (MLflow).", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(features_app, name="features")
app.add_typer(config_app, name="config")
app.add_typer(models_app, name="models")

logger = logging.getLogger("kpredict.cli")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Feature repository YAML.")]
DataOption = Annotated[Optional[Path], typer.Option("--data", help="Data directory (default: the demo config's data_dir).")]
StoreOption = Annotated[Optional[Path], typer.Option("--store", help="Materialised views directory (default: the demo config's).")]


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _configure_logging(verbose: int) -> None:
    from rich.logging import RichHandler

    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = RichHandler(console=_console(stderr=True), show_path=False, rich_tracebacks=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)


_DEBUG = {"on": False}
_MLFLOW_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


def _require_tracking(*, write: bool = False) -> None:
    """Stop at once, before anything is done or written, when the tracking server does not answer
    (or, for commands that record runs, when the local model store cannot be written)."""
    from kpredict.tracking.store import check_reachable, require_writable_store

    check_reachable()
    if write:
        require_writable_store()


def handle_errors(command):
    """Turn errors into one clear line and the documented exit code; tracebacks only under --debug.

    Ours carry their exit code; an ``OSError`` naming a file (permission, read-only or full disk)
    is exit 2 like our StorageError; anything else is exit 1, "unexpected", with its type.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except KPredictError as exc:
            if _DEBUG["on"]:
                raise
            _error_line(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            if _DEBUG["on"]:
                raise
            if isinstance(exc, OSError) and exc.filename is not None:
                from kpredict.io import storage_error

                _error_line(str(storage_error(Path(exc.filename), exc, action="use")))
                raise typer.Exit(2) from None
            logger.debug("unexpected error", exc_info=True)
            _error_line(f"unexpected error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
            raise typer.Exit(1) from None

    return wrapper


def _error_line(message: str) -> None:
    from rich.markup import escape

    _console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)


@app.callback()
def main_callback(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging (-v, -vv).")] = 0,
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")] = False,
) -> None:
    """kpredict command line."""
    import os

    _DEBUG["on"] = debug

    # MLflow's per-download progress bars interleave with ours; our own progress and logs remain.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    _configure_logging(verbose)


@app.command()
@handle_errors
def version() -> None:
    """Print the kpredict version."""
    from kpredict import __version__

    typer.echo(__version__)


# ---------------------------------------------------------------------------- data


@data_app.command("generate")
@handle_errors
def data_generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("data/demo"),
    size: Annotated[str, typer.Option(help="small | default | large")] = "default",
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 0,
) -> None:
    """Generate the demo company (deterministic: same seed and size give identical files)."""
    from kpredict.datasets import generate

    manifest = generate(out, size=size, seed=seed, progress=True)
    table = _table("table", "rows")
    for name, rows in manifest.tables.items():
        table.add_row(name, f"{rows:,}")
    _console().print(table)
    _console().print(f"demo company ({size}, seed {seed}) written to {out}")


# ---------------------------------------------------------------------------- features


def _demo_config():
    from kpredict.config import load_config
    from kpredict.config.demo import DemoConfig

    path = Path("configs/demo.yaml")
    return load_config(path, DemoConfig) if path.is_file() else DemoConfig()


def _store(config: Path, data: Path | None, store: Path | None):
    from kpredict.features import FeatureStore

    demo = _demo_config()
    return FeatureStore.from_yaml(config, data_dir=data or Path(demo.data_dir), store_dir=store or Path(demo.feature_store_dir))


def _table(*columns: str):
    """A table whose first column (a name users copy into commands) never wraps; the others fold
    long values onto more lines instead of cutting them to "…" on a narrow terminal."""
    from rich.table import Table

    table = Table(header_style="bold")
    for position, column in enumerate(columns):
        table.add_column(column, no_wrap=position == 0, overflow="fold")
    return table


@features_app.command("list")
@handle_errors
def features_list(config: ConfigOption = Path("configs/features.yaml")) -> None:
    """List feature views: entities, source, TTL, feature count and definition hash."""
    from kpredict.config import load_config
    from kpredict.features import FeatureRepoConfig

    repo = load_config(config, FeatureRepoConfig)
    table = _table("view", "entities", "source", "ttl", "features", "hash")
    for name, view in repo.feature_views.items():
        table.add_row(name, ", ".join(view.entities) or "-", view.source or "-", view.ttl or "-", str(len(view.features)), repo.view_hash(name)[:12])
    _console().print(table)


@features_app.command("show")
@handle_errors
def features_show(
    view: Annotated[str, typer.Argument(help="Feature view name.")],
    config: ConfigOption = Path("configs/features.yaml"),
    lang: Annotated[str, typer.Option(help="en | zh")] = "en",
) -> None:
    """Show one view's features with their transforms and business descriptions."""
    from kpredict.config import load_config
    from kpredict.features import FeatureRepoConfig, FeatureStore

    repo = load_config(config, FeatureRepoConfig)
    frame = FeatureStore(repo, data_dir=".").describe(view)
    table = _table("feature", "transform", "dtype", "description")
    for row in frame.itertuples():
        table.add_row(row.feature, row.transform, row.dtype, row.description_zh if lang == "zh" else row.description_en)
    _console().print(table)


@features_app.command("materialize")
@handle_errors
def features_materialize(
    config: ConfigOption = Path("configs/features.yaml"),
    data: DataOption = None,
    store: StoreOption = None,
    view: Annotated[Optional[list[str]], typer.Option("--view", help="Only these views (repeatable).")] = None,
) -> None:
    """Materialise feature views to parquet (one folder per view version)."""
    feature_store = _store(config, data, store)
    infos = feature_store.materialize(view, progress=True)
    print_materialisation(infos)


@features_app.command("export", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@handle_errors
def features_export(
    context: typer.Context,
    pipeline: Annotated[str, typer.Argument(help="A pipeline that scores per row (churn, risk_anomaly).")],
    as_of: Annotated[str, typer.Option("--as-of", help="Features as of this date (YYYY-MM-DD).")],
    out: Annotated[Path, typer.Option("--out", help="File to write: .csv or .parquet.")],
    model: Annotated[str, typer.Option("--model", help="'champion' (or another alias) or a version number: its feature columns.")] = "champion",
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Pipeline YAML (default configs/<pipeline>.yaml).")] = None,
) -> None:
    """Export the features a registered model reads as of a date (keys + feature columns), e.g. for 'mlflow models predict'.

    The pipeline's own parameters follow as options, as for 'kpredict score'.
    """
    _require_tracking()
    from kpredict.scoring.export import export_features, write_features
    from kpredict.scoring.plugin import parse_cli_params

    frame = export_features(pipeline, as_of, model=model, config=config, **parse_cli_params(context.args))
    path = write_features(frame, out)
    _console().print(f"wrote {len(frame):,} rows x {frame.shape[1]} columns to {path}")


def print_materialisation(infos) -> None:
    """A summary table of materialised views."""
    table = _table("view", "rows", "definition hash", "data hash", "path")
    for info in infos.values():
        table.add_row(info.view, f"{info.rows:,}", info.definition_hash[:12], info.data_hash[:12], str(info.path or "(memory)"))
    _console().print(table)


# ---------------------------------------------------------------------------- config


@config_app.command("check")
@handle_errors
def config_check(directory: Annotated[Path, typer.Argument(help="Config directory.")] = Path("configs")) -> None:
    """Validate every YAML file in a directory against its schema."""
    from kpredict.config import check_configs

    loaded = check_configs(directory)
    for stem in loaded:
        _console().print(f"[green]ok[/]  {directory / (stem + '.yaml')}")


# ---------------------------------------------------------------------------- models


@models_app.command("list")
@handle_errors
def models_list(
    pipeline: Annotated[Optional[str], typer.Option(help="Only this pipeline.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Every field of every version as JSON, for scripts.")] = False,
) -> None:
    """List registered model versions with their aliases and gate metric."""
    _require_tracking()
    from kpredict.tracking import list_models

    frame = list_models(pipeline)
    if as_json:
        records = frame.assign(created=frame["created"].map(lambda t: t.isoformat())).to_dict(orient="records")
        typer.echo(json.dumps([{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in records], ensure_ascii=False, indent=2))
        return
    if frame.empty:
        _console().print("no registered models yet; train one with 'kpredict train <pipeline>'")
        return
    table = _table("model", "version", "aliases", "gate metric", "run", "created (UTC)")
    for row in frame.itertuples(index=False):
        metric = f"{row.metric_name} {row.metric_value:.4g}" if row.metric_name and row.metric_value == row.metric_value else "-"
        table.add_row(row.name, str(row.version), row.aliases or "-", metric, (row.run_id or "-")[:8], row.created.strftime("%Y-%m-%d %H:%M"))
    _console().print(table)
    _console().print("all fields: kpredict models list --json")


@models_app.command("promote")
@handle_errors
def models_promote(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name.")],
    version: Annotated[int, typer.Argument(help="Model version to make @champion.")],
) -> None:
    """Make VERSION the @champion of a pipeline's model (a deliberate, forced promotion)."""
    _require_tracking()
    from kpredict.tracking import promote_if_better

    decision = promote_if_better(pipeline, version, force=True)
    _console().print(decision.reason)


# ---------------------------------------------------------------------------- train / score / report


@app.command("pipelines")
@handle_errors
def pipelines_list() -> None:
    """List the pipelines: what each decides, how it scores, its report, --trials and score parameters."""
    from kpredict.pipeline import discover_pipelines, resolve
    from kpredict.scoring.plugin import FrameScoringPlugin

    console = _console()
    for name, descriptor in discover_pipelines().items():
        console.print(f"[bold]{name}[/] — {descriptor.summary}", markup=True)
        facts = [f"config {descriptor.default_config_path}"]
        if descriptor.scoring is not None:
            plugin = resolve(descriptor.scoring)
            facts.append("scores the whole input" if isinstance(plugin, FrameScoringPlugin) else "scores per row")
            parameters = [f"--{key.replace('_', '-')}" for key in plugin.params_model.model_fields]
            facts.append("score parameters: " + (" ".join(parameters) if parameters else "none"))
        if descriptor.train_options:
            facts.append("train options: " + " ".join(f"--{name}" for name in descriptor.train_options))
        if descriptor.evaluate_options:
            facts.append("evaluate options: " + " ".join(f"--{name}" for name in descriptor.evaluate_options))
        facts.append("report: yes" if descriptor.report is not None else "no report")
        facts.append(f"--trials sets {descriptor.trials_key}" if descriptor.trials_key else "no tuning search")
        console.print("  " + "; ".join(facts))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@handle_errors
def train(
    context: typer.Context,
    pipeline: Annotated[str, typer.Argument(help="A pipeline name ('kpredict pipelines' lists them).")],
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Pipeline YAML (default configs/<pipeline>.yaml).")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="Data directory (overrides the config).")] = None,
    trials: Annotated[Optional[int], typer.Option("--trials", help="optuna trials (overrides the config; pipelines without a search ignore it).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Promote to @champion even if it does not beat the champion.")] = False,
) -> None:
    """Train a pipeline, log the run to MLflow, register the model and apply the champion gate.

    The pipeline's own options follow, e.g. 'kpredict train churn --table customers.parquet
    --target churned --id customer_id' (see 'kpredict pipelines').
    """
    _require_tracking(write=True)
    from kpredict.pipeline import get_pipeline
    from kpredict.scoring.plugin import parse_cli_params

    descriptor = get_pipeline(pipeline)
    overrides = {"data_dir": str(data) if data else None}
    for option, value in parse_cli_params(context.args).items():
        if option not in descriptor.train_options:
            known = ", ".join(f"--{name}" for name in descriptor.train_options) or "none"
            raise ConfigError(f"kpredict train {pipeline} has no option '--{option.replace('_', '-')}'; its own options: {known}.")
        overrides[descriptor.train_options[option]] = value
    if trials is not None and descriptor.trials_key is None:
        _console(stderr=True).print(f"[yellow]warning:[/] pipeline {pipeline!r} has no tuning search; --trials is ignored", markup=True)
    elif trials is not None:
        overrides[descriptor.trials_key] = trials
    from kpredict.progress import progress_bar

    with progress_bar(f"{pipeline}: training", None):  # in a log: a line at least every 30 s until it ends
        result = descriptor.train(config, force=force, **overrides)
    table = _table("metric", "value")
    for name, value in sorted(result.metrics.items()):
        if name.startswith(("holdout_", "baseline_holdout_", "kpi_")):
            table.add_row(name, f"{value:.4f}")
    _console().print(table)
    _console().print(f"run {result.run_id}: registered version {result.model_version}; {result.promotion_reason}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@handle_errors
def score(
    context: typer.Context,
    pipeline: Annotated[str, typer.Argument(help="A pipeline that scores ('kpredict pipelines' lists them and their parameters).")],
    as_of: Annotated[str, typer.Option("--as-of", help="Score as of this date (YYYY-MM-DD).")],
    model: Annotated[str, typer.Option("--model", help="'champion' (or another alias) or a version number.")] = "champion",
    out: Annotated[Optional[Path], typer.Option("--out", help="Output file (.parquet/.csv): an absolute path is used as given, a relative one lands in --output-dir.")] = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", help="Directory of relative --out names and of the default output name.")] = Path("output"),
    input_path: Annotated[Optional[Path], typer.Option("--input", help="Score this features table instead of the feature store.")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Pipeline YAML (default configs/<pipeline>.yaml).")] = None,
    explain_top: Annotated[Optional[str], typer.Option("--explain-top", help="Rows to explain: all, a count, 10% (default from the model).")] = None,
    engine: Annotated[str, typer.Option("--engine", help="local | dask")] = "local",
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", help="Rows predicted at a time.")] = 200_000,
    strict: Annotated[bool, typer.Option("--strict", help="Extra input columns are an error.")] = False,
    reject_bad_rows: Annotated[bool, typer.Option("--reject-bad-rows", help="Set rows with inf/unparseable numbers aside instead of failing.")] = False,
    allow_version_mismatch: Annotated[bool, typer.Option("--allow-version-mismatch", help="Score a model trained under other library versions.")] = False,
) -> None:
    """Score with a registered model; writes the output, companions, a rejects file if any, and a manifest.

    The pipeline's own parameters follow as options, e.g. '--budget 100000' (see 'kpredict pipelines').
    """
    _require_tracking()
    from kpredict.scoring import score as run_score
    from kpredict.scoring.plugin import parse_cli_params

    params = parse_cli_params(context.args)
    result = run_score(
        pipeline, as_of, model=model, out=out, output_dir=output_dir, input_path=input_path,
        config=config, explain_top=explain_top, engine=engine,
        chunk_rows=chunk_rows, strict=strict, bad_rows="reject" if reject_bad_rows else "error",
        allow_version_mismatch=allow_version_mismatch, **params,
    )
    counts = ", ".join(f"{k} {v:,}" for k, v in result.counts.items())
    _console().print(f"wrote {result.output} ({counts}); manifest {result.manifest}")


@app.command()
@handle_errors
def report(
    as_of: Annotated[str, typer.Option("--as-of", help="Report as of this date (YYYY-MM-DD).")],
    pipeline: Annotated[Optional[str], typer.Argument(help="Only this pipeline's own report (churn: the retention list); default: the business report of every decision.")] = None,
    lang: Annotated[list[str], typer.Option("--lang", help="zh | en (repeat for both).")] = ["en"],  # noqa: B006 - typer reads the default
    model: Annotated[str, typer.Option("--model", help="'champion' or a version number.")] = "champion",
    output_dir: Annotated[Path, typer.Option("--output-dir", help="Where the report files go.")] = Path("output"),
    source: Annotated[Optional[Path], typer.Option("--from", help="Where the scoring outputs are read (default: --output-dir), e.g. output/jobs.")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Pipeline YAML (with PIPELINE; default configs/<pipeline>.yaml).")] = None,
) -> None:
    """Write the business report (HTML + Excel: what changed, replenishment, retention, risk alerts, budget plan).

    The report reads each pipeline's scoring output for the date from --from (what run-jobs or the
    demo wrote) and scores in memory only what it does not find. With PIPELINE, that pipeline's own
    report instead (churn: the retention list).
    """
    _require_tracking()
    from kpredict.reports import write_business_report, write_report

    if pipeline is not None:
        for one in dict.fromkeys(lang):
            paths = write_report(pipeline, as_of, lang=one, model=model, output_dir=output_dir, config=config)
            for kind, path in paths.items():
                _console().print(f"{kind}: {path}")
        return
    if config is not None:
        raise ConfigError("--config needs a PIPELINE; the business report reads each pipeline's configs/<pipeline>.yaml")
    paths = write_business_report(as_of, langs=lang, output_dir=output_dir, source_dir=source, model=model)
    for kind, path in paths.items():
        _console().print(f"{kind}: {path}")


STALE_EXIT_CODE = 6


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@handle_errors
def evaluate(
    context: typer.Context,
    pipeline: Annotated[str, typer.Argument(help="A pipeline with outcomes to check (churn, sales_forecast, risk_anomaly, budget).")],
    as_of: Annotated[str, typer.Option("--as-of", help="The past scoring date whose predictions are checked (YYYY-MM-DD).")],
    source: Annotated[Path, typer.Option("--from", help="Where that date's scoring output is (e.g. output/jobs).")] = Path("output"),
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Pipeline YAML (default configs/<pipeline>.yaml).")] = None,
) -> None:
    """Check the predictions stored for a past date against what happened since.

    Exit code 6 when the model is stale (its monitoring.metric is worse than monitoring.threshold),
    so a schedule can retrain on it: kpredict evaluate churn --as-of D; [ $? -eq 6 ] && kpredict train churn.
    The pipeline's own options follow, e.g. 'kpredict evaluate churn --as-of D --outcomes later.csv'
    for a model trained from a table (see 'kpredict pipelines').
    """
    _require_tracking()
    from kpredict.monitoring.evaluate import evaluate as run_evaluation
    from kpredict.pipeline import get_pipeline
    from kpredict.scoring.plugin import parse_cli_params
    from kpredict.tracking.publish import greater_is_better

    descriptor = get_pipeline(pipeline)
    overrides = {}
    for option, value in parse_cli_params(context.args).items():
        if option not in descriptor.evaluate_options:
            known = ", ".join(f"--{name}" for name in descriptor.evaluate_options) or "none"
            raise ConfigError(f"kpredict evaluate {pipeline} has no option '--{option.replace('_', '-')}'; its own options: {known}.")
        overrides[descriptor.evaluate_options[option]] = value
    found = run_evaluation(pipeline, as_of, source_dir=source, config=config, **overrides)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in found.metrics.items())
    _console().print(f"{pipeline} version {found.model_version} as of {found.as_of}: {shown}", soft_wrap=True)
    verdict = "STALE" if found.stale else "ok"
    direction = "at least" if greater_is_better(found.metric) else "at most"
    _console().print(f"{verdict}: realized {found.metric} {found.value:.4f} (threshold: {direction} {found.threshold:g}); {found.path}", soft_wrap=True)
    if found.stale:
        raise typer.Exit(STALE_EXIT_CODE)


@app.command("run-jobs")
@handle_errors
def run_jobs_command(
    as_of: Annotated[str, typer.Option("--as-of", help="Run every job as of this date (YYYY-MM-DD).")],
    jobs: Annotated[Path, typer.Option("--jobs", help="The jobs file.")] = Path("configs/jobs.yaml"),
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Only this job (repeatable).")] = None,
) -> None:
    """Run the scheduled jobs of configs/jobs.yaml; a failing job does not stop the others.

    Exit code: 0 when every job succeeded, else the first failed job's (2 input/config, 3 model, ...).
    A summary of every job is written to <output_dir>/run-jobs_<as_of>.json.
    """
    _require_tracking()
    from kpredict.jobs import run_jobs

    run = run_jobs(jobs, as_of, only=only, console=_console())
    failed = [o.name for o in run.outcomes if o.status != "ok"]
    _console().print(f"{len(run.outcomes) - len(failed)} of {len(run.outcomes)} job(s) ok" + (f"; failed: {', '.join(failed)}" if failed else "") + f"; summary {run.summary}")
    if run.exit_code:
        raise typer.Exit(run.exit_code)


# ---------------------------------------------------------------------------- demo


@app.command()
@handle_errors
def demo(
    size: Annotated[Optional[str], typer.Option(help="small | default | large (overrides configs/demo.yaml)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Generator seed (overrides configs/demo.yaml)")] = None,
) -> None:
    """Generate the demo company, materialise its features, then train, score and report each pipeline of configs/demo.yaml."""
    _require_tracking(write=True)
    from kpredict.demo import run_demo

    run_demo(size=size, seed=seed, console=_console())


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
