"""`kpredict demo`: the embedded default, end to end on the generated demo company.

It generates the company, materialises every feature view, then trains, scores and reports each
pipeline named in ``configs/demo.yaml`` (sales forecast with its replenishment table, churn with
its retention list); the other pipelines join this recipe as they land.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from kpredict.config import load_config
from kpredict.config.demo import DemoConfig

__all__ = ["run_demo"]

logger = logging.getLogger(__name__)


def run_demo(*, size: str | None = None, seed: int | None = None, config_path: str | Path = "configs/demo.yaml", console: Any = None) -> dict[str, Any]:
    """Generate → materialise → summarise. CLI flags override ``configs/demo.yaml``.

    Returns:
        A summary dict (data directory, table rows, materialised views) for callers and tests.
    """
    from rich.console import Console

    from kpredict.datasets import generate
    from kpredict.features import FeatureStore

    console = console or Console()
    overrides = {key: value for key, value in {"size": size, "seed": seed}.items() if value is not None}
    config_path = Path(config_path)
    config = load_config(config_path, DemoConfig, overrides=overrides) if config_path.is_file() else DemoConfig(**overrides)

    started = time.perf_counter()
    console.rule(f"kpredict demo — company '{config.size}', seed {config.seed}")
    manifest = generate(config.data_dir, size=config.size, seed=config.seed, progress=True)
    console.print(f"generated {len(manifest.tables)} tables in {config.data_dir} ({time.perf_counter() - started:.1f} s)")

    store = FeatureStore.from_yaml(config.features, data_dir=config.data_dir, store_dir=config.feature_store_dir)
    infos = store.materialize(progress=True)
    _print_views(console, store, infos)
    summary: dict[str, Any] = {"data_dir": config.data_dir, "tables": manifest.tables, "views": infos}
    if "sales_forecast" in config.pipelines:
        summary["sales_forecast"] = _sales_forecast(console, config)
    if "churn" in config.pipelines:
        summary["churn"] = _churn(console, config)
    console.print(f"done in {time.perf_counter() - started:.1f} s")
    return summary


def _sales_forecast(console: Any, config: DemoConfig) -> dict[str, Any]:
    """Train the sales forecaster, forecast from ``config.as_of`` and write the replenishment table."""
    from rich.table import Table

    from kpredict.pipelines.sales_forecast import train
    from kpredict.pipelines.sales_forecast.train import load_sales_config
    from kpredict.scoring import score

    started = time.perf_counter()
    console.rule("sales forecast: how much to stock")
    shared = {"data_dir": config.data_dir, "features": config.features, "feature_store_dir": config.feature_store_dir}
    settings = load_sales_config(None, **shared)  # configs/sales_forecast.yaml when present, else defaults
    result = train(settings)
    m = result.metrics
    console.print(
        f"trained version {result.model_version} in {time.perf_counter() - started:.0f} s on {int(m['series'])} series: "
        f"holdout MASE {m['holdout_mase']:.3f} (SeasonalNaive {m['baseline_holdout_mase']:.3f}), WAPE {m['holdout_wape']:.1%} "
        f"(SeasonalNaive {m['baseline_holdout_wape']:.1%}), 95 % interval coverage {m['holdout_coverage_95']:.1%}; {result.promotion_reason}"
    )
    scored = score("sales_forecast", config.as_of, config=settings, output_dir=config.output_dir)
    replenishment = scored.output.with_name(scored.output.stem + ".replenishment" + scored.output.suffix)
    console.print(f"forecast {scored.counts['rows']:,} store x product x day rows from {config.as_of} -> {scored.output}")
    console.print(f"replenishment table ({scored.counts['replenishment_rows']:,} series) -> {replenishment}")
    import pandas as pd

    orders = pd.read_parquet(replenishment).sort_values("order_quantity", ascending=False).head(5)
    table = Table("store", "product", "lead-time demand", "safety stock", "on hand", "order", header_style="bold", title="Largest orders")
    for row in orders.itertuples():
        table.add_row(row.store_id, row.product_id, f"{row.lead_time_demand:.0f}", f"{row.safety_stock:.0f}", f"{row.on_hand:.0f}", f"{row.order_quantity:.0f}")
    console.print(table)
    return {"training": result, "scores": scored, "replenishment": replenishment}


def _churn(console: Any, config: DemoConfig) -> dict[str, Any]:
    """Train churn on the demo company, score it as of ``config.as_of`` and write the retention list."""
    from kpredict.pipelines.churn import load_churn_config, train
    from kpredict.reports.run import write_report
    from kpredict.scoring import score

    started = time.perf_counter()
    console.rule("churn: whom to retain")
    shared = {"data_dir": config.data_dir, "features": config.features, "feature_store_dir": config.feature_store_dir}
    settings = load_churn_config(None, **shared)  # configs/churn.yaml when present, else defaults
    result = train(settings)
    metrics = result.metrics
    console.print(
        f"trained version {result.model_version} in {time.perf_counter() - started:.0f} s: holdout ROC-AUC "
        f"{metrics['holdout_roc_auc']:.3f} (logistic baseline {metrics['baseline_holdout_roc_auc']:.3f}), "
        f"lift in the top 10 % {metrics['holdout_lift_at_10']:.1f}x; {result.promotion_reason}"
    )
    scored = score("churn", config.as_of, config=settings, output_dir=config.output_dir)
    bands = scored.frame["risk_band"].value_counts().to_dict()
    console.print(f"scored {len(scored.frame):,} active customers as of {config.as_of} -> {scored.output} (bands {bands})")
    reports = {lang: write_report("churn", config.as_of, lang=lang, output_dir=config.output_dir, config=settings) for lang in ("en", "zh")}
    for lang, paths in reports.items():
        console.print(f"retention list ({lang}): {paths['xlsx']} and {paths['html']}")
    top = scored.frame.sort_values("rank").head(5)
    from rich.table import Table

    table = Table("rank", "customer", "probability", "band", "top reason", header_style="bold", title="Riskiest customers")
    for row in top.itertuples():
        table.add_row(str(row.rank), row.customer_id, f"{row.churn_probability:.0%}", row.risk_band, row.reason_1_en or "-")
    console.print(table)
    return {"training": result, "scores": scored, "reports": reports}


def _print_views(console: Any, store: Any, infos: dict) -> None:
    from rich.table import Table

    table = Table(header_style="bold", title="Feature views")
    table.add_column("feature view", no_wrap=True)
    table.add_column("keys")
    table.add_column("features", justify="right")
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("ttl", no_wrap=True)
    table.add_column("version", no_wrap=True)
    for name in store.view_names():
        view = store.repo.feature_views[name]
        info = infos.get(name)
        table.add_row(
            name,
            ", ".join(store.repo.join_keys(name)) or "(entity time)",
            str(len(view.features)),
            f"{info.rows:,}" if info else "on demand",
            view.ttl or "-",
            store.view_hash(name)[:10],
        )
    console.print(table)
    console.print("each feature's definition and meaning: kpredict features show VIEW [--lang zh]")
