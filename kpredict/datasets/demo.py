"""``generate``: write the whole demo company (tables, truth, manifest) into one folder.

Why an orchestrator: each domain module builds its tables in memory and knows nothing about files;
this module writes each table as soon as it exists (so ``large`` never holds every domain at once),
hashes it, and writes ``manifest.json`` last. A folder with a manifest is therefore complete, and a
stale manifest is removed before anything is rewritten.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from kpredict.datasets._calendar import DEMO_END, span_start
from kpredict.datasets._io import write_json_atomic, write_parquet_atomic
from kpredict.datasets._sizes import SIZES, DemoSize
from kpredict.datasets.customers import generate_customers
from kpredict.datasets.marketing import generate_marketing
from kpredict.datasets.revenue import generate_store_revenue
from kpredict.datasets.sales import generate_sales
from kpredict.datasets.transactions import generate_transactions
from kpredict.errors import ConfigError
from kpredict.hashing import file_hash

__all__ = ["GENERATOR_VERSION", "MANIFEST_NAME", "DemoManifest", "generate"]

logger = logging.getLogger(__name__)

GENERATOR_VERSION = "1.2.0"  # 1.1: the promotions calendar; 1.2: the marketing lift tests
"""Bumped whenever the same seed and size would give different bytes."""

MANIFEST_NAME = "manifest.json"
_STEPS = ("sales", "store revenue", "customers", "transactions", "marketing", "manifest")


@dataclass(frozen=True)
class DemoManifest:
    """What ``generate`` wrote.

    Attributes:
        out_dir: The folder holding every file.
        size: Size name.
        seed: Seed.
        tables: Table name (its path without ``.parquet``, e.g. ``"truth/churn"``) -> rows.
        files: Path relative to ``out_dir`` (POSIX) -> SHA-256 of the file, for every file but the
            manifest itself.
    """

    out_dir: Path
    size: str
    seed: int
    tables: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    @property
    def manifest_path(self) -> Path:
        """Where the JSON manifest is."""
        return self.out_dir / MANIFEST_NAME


def _resolve(size: str, seed: int) -> DemoSize:
    if not isinstance(size, str) or size not in SIZES:
        raise ConfigError(
            f"Unknown demo size {size!r}; expected one of {sorted(SIZES)}. "
            "Use 'small' for tests, 'default' for the demo, 'large' for benchmarks."
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        kind = (
            "a negative int"
            if isinstance(seed, int) and not isinstance(seed, bool)
            else type(seed).__name__
        )
        raise ConfigError(
            f"The demo seed must be a non-negative integer; got {kind}. Pass e.g. seed=0."
        )
    return SIZES[size]


def _spans(spec: DemoSize, first_week: str, last_week: str) -> dict[str, dict[str, str]]:
    """ISO first and last day covered by each domain (marketing: whole Monday-Sunday weeks)."""
    end = DEMO_END.isoformat()
    return {
        "sales": {"start": str(span_start(spec.sales_years)), "end": end},
        "customers": {"start": str(span_start(spec.customer_years)), "end": end},
        "transactions": {"start": str(span_start(spec.txn_years)), "end": end},
        "marketing": {"start": first_week, "end": last_week},
    }


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str], None]]:
    """Yield ``advance(step_name)``; draws a rich progress bar only when ``enabled``."""
    if not enabled:
        yield lambda _step: None
        return
    from rich.progress import Progress  # imported lazily: only interactive runs need it

    with Progress(transient=False) as bar:
        task = bar.add_task("demo company", total=len(_STEPS))

        def advance(step: str) -> None:
            bar.update(task, advance=1, description=f"demo company: {step}")

        yield advance


def generate(
    out_dir: str | Path,
    size: Literal["small", "default", "large"] = "default",
    seed: int = 0,
    *,
    progress: bool = False,
) -> DemoManifest:
    """Generate the demo company deterministically into ``out_dir``.

    The same ``seed`` and ``size`` always give byte-identical files (no clock is read; every table
    draws from its own random stream). Files are written atomically, ``manifest.json`` last.

    Args:
        out_dir: Folder to write into; created if needed. Existing demo files are replaced.
        size: ``"small"`` (tests, a few seconds), ``"default"`` (the demo) or ``"large"``
            (benchmarks, minutes).
        seed: Non-negative integer seed.
        progress: Draw a rich progress bar on the console.

    Returns:
        A ``DemoManifest`` with the row count of each table and the SHA-256 of each file.

    Raises:
        ConfigError: ``size`` is not a known size or ``seed`` is not a non-negative integer.

    Examples:
        >>> manifest = generate("data/demo", size="small", seed=0)  # doctest: +SKIP
        >>> manifest.tables["sales"]  # doctest: +SKIP
        17520
    """
    spec = _resolve(size, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST_NAME).unlink(missing_ok=True)  # the folder is incomplete until the end
    entries: dict[str, dict[str, Any]] = {}
    files: dict[str, str] = {}

    def write_tables(tables: dict[str, pa.Table]) -> None:
        for name, table in tables.items():
            rel = f"{name}.parquet"
            started = time.perf_counter()
            write_parquet_atomic(table, out / rel)
            files[rel] = file_hash(out / rel)
            entries[name] = {"path": rel, "rows": table.num_rows, "sha256": files[rel]}
            logger.info(
                "Wrote %s (%d rows) in %.2f s", rel, table.num_rows, time.perf_counter() - started
            )

    started = time.perf_counter()
    with _progress(progress) as advance:
        sales_tables, takings = generate_sales(spec, seed)
        write_tables(sales_tables)
        del sales_tables
        advance("sales")
        write_tables(generate_store_revenue(takings, seed))
        advance("store revenue")
        write_tables(generate_customers(spec, seed))
        advance("customers")
        write_tables(generate_transactions(spec, seed))
        advance("transactions")
        marketing_tables, marketing_truth = generate_marketing(spec, seed)
        write_tables(marketing_tables)
        truth_rel = "truth/marketing.json"
        write_json_atomic(marketing_truth, out / truth_rel)
        files[truth_rel] = file_hash(out / truth_rel)
        advance("marketing")

        weeks = marketing_tables["marketing"]["week"]
        last_sunday = weeks[-1].as_py().date() + dt.timedelta(days=6)
        spans = _spans(spec, str(weeks[0].as_py().date()), str(last_sunday))
        manifest = {
            "generator": "kpredict.datasets",
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "size": spec.name,
            "start_date": min(span["start"] for span in spans.values()),
            "end_date": DEMO_END.isoformat(),
            "spans": spans,
            "tables": entries,
            "files": dict(sorted(files.items())),
        }
        write_json_atomic(manifest, out / MANIFEST_NAME)
        advance("manifest")
    logger.info(
        "Generated the %s demo company (seed %d) in %.1f s",
        spec.name,
        seed,
        time.perf_counter() - started,
    )
    return DemoManifest(
        out_dir=out,
        size=spec.name,
        seed=seed,
        tables={name: entry["rows"] for name, entry in entries.items()},
        files=dict(sorted(files.items())),
    )
