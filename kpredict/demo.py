"""`kpredict demo`: the embedded default, end to end on the generated demo company.

It generates the company, materialises every feature view, runs the demo step of each pipeline
named in ``configs/demo.yaml`` (train, score), in that order, and closes with the business report
of all of them (zh and en) read from what they scored. Pipelines are found through their
descriptors: a new pipeline joins the demo by declaring a demo step, the report by a section.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from kpredict.config import load_config
from kpredict.config.demo import DemoConfig

__all__ = ["run_demo"]

logger = logging.getLogger(__name__)


def run_demo(*, size: str | None = None, seed: int | None = None, config_path: str | Path = "configs/demo.yaml", console: Any = None) -> dict[str, Any]:
    """Generate → materialise → each pipeline's demo step. CLI flags override ``configs/demo.yaml``.

    Returns:
        A summary dict (data directory, table rows, materialised views, one entry per pipeline).
    """
    from rich.console import Console

    from kpredict.datasets import generate
    from kpredict.pipeline import DemoContext, get_pipeline, resolve

    console = console or Console()
    overrides = {key: value for key, value in {"size": size, "seed": seed}.items() if value is not None}
    config_path = Path(config_path)
    config = load_config(config_path, DemoConfig, overrides=overrides) if config_path.is_file() else DemoConfig(**overrides)

    started = time.perf_counter()
    console.rule(f"kpredict demo — company '{config.size}', seed {config.seed}")
    manifest = generate(config.data_dir, size=config.size, seed=config.seed, progress=True)
    console.print(f"generated {len(manifest.tables)} tables in {config.data_dir} ({time.perf_counter() - started:.1f} s)")

    store = config.open_store()
    infos = store.materialize(progress=True)
    _print_views(console, store, infos)
    summary: dict[str, Any] = {"data_dir": config.data_dir, "tables": manifest.tables, "views": infos}
    settings: dict[str, Any] = {}
    for name in config.pipelines:
        descriptor = get_pipeline(name, needs="demo")
        console.rule(f"{name}: {descriptor.summary}")
        overrides = {descriptor.trials_key: config.trials[name]} if name in config.trials else {}
        settings[name] = descriptor.load_config(None, **config.store_settings(), **overrides)  # configs/<name>.yaml when present
        summary[name] = resolve(descriptor.demo)(DemoContext(name, console, settings[name], config.as_of, config.output_dir))
    summary["report"] = _business_report(console, config, settings)
    _print_where_it_went(console, summary, config)
    console.print(f"done in {time.perf_counter() - started:.1f} s")
    return summary


def _business_report(console: Any, config: DemoConfig, settings: dict[str, Any]) -> dict[str, Path]:
    """The business report of the pipelines that have a section, from what the steps above scored."""
    from kpredict.pipeline import discover_pipelines
    from kpredict.reports.business import write_business_report

    found = discover_pipelines()
    reporting = [name for name in config.pipelines if found[name].section is not None]
    if not reporting:
        return {}
    console.rule("the business report")
    started = time.perf_counter()
    with console.status("writing the report (en, zh)"):
        paths = write_business_report(config.as_of, langs=("en", "zh"), output_dir=config.output_dir, pipelines=reporting,
                                      configs={name: settings[name] for name in reporting})
    console.print(f"one report for {', '.join(reporting)} in English and Chinese ({time.perf_counter() - started:.0f} s): "
                  f"open {_relative(paths['html_en'])}")
    return paths


def written_files(value: Any) -> list[Path]:
    """Every file a demo step reports: scoring outputs with their companions and manifest, report files."""
    from kpredict.scoring.interface import ScoreResult

    if isinstance(value, ScoreResult):
        found = [value.output, *value.companion_paths.values(), value.manifest]
        return [Path(p) for p in found if p is not None]
    if isinstance(value, (str, Path)) and Path(value).suffix:
        return [Path(value)]
    if isinstance(value, dict):
        return [path for item in value.values() for path in written_files(item)]
    return []


def _print_where_it_went(console: Any, summary: dict[str, Any], config: DemoConfig) -> None:
    """The closing summary: which files each pipeline wrote, and how to look further."""
    from kpredict.tracking.store import tracking_uri

    console.rule("where everything went")
    for name in [*config.pipelines, "report"]:  # one path a line, never wrapped: users copy them
        files = sorted(dict.fromkeys(str(_relative(path)) for path in written_files(summary.get(name, {}))))
        console.print(f"{name}:", markup=False)
        for file in files or ["-"]:
            console.print(f"  {file}", markup=False, soft_wrap=True)
    console.print(f"browse the runs and models: mlflow ui --backend-store-uri {tracking_uri()}")
    console.print(f"score again as a schedule would: kpredict run-jobs --as-of {config.as_of} (configs/jobs.yaml)")


def _relative(path: Path) -> Path:
    """The path as the user reads it: relative to the working folder, links not followed (an
    output name is a link into its current run folder, and the name is what to open)."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd().absolute())
    except ValueError:
        return absolute


def _print_views(console: Any, store: Any, infos: dict) -> None:
    from rich.table import Table

    table = Table(header_style="bold", title="Feature views")
    table.add_column("feature view", no_wrap=True)
    table.add_column("keys", overflow="fold")
    table.add_column("features", justify="right")
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("ttl", no_wrap=True)
    table.add_column("version", no_wrap=True)
    for name in store.view_names():
        view = store.repo.feature_views[name]
        info = infos.get(name)
        table.add_row(
            name,
            "\n".join(store.repo.join_keys(name)) or "(entity time)",  # one key a line: readable at 80 columns
            str(len(view.features)),
            f"{info.rows:,}" if info else "on demand",
            view.ttl or "-",
            store.view_hash(name)[:10],
        )
    console.print(table)
    console.print("each feature's definition and meaning: kpredict features show VIEW [--lang zh]")
