"""The four training pipelines, installed as ``kpredict.pipelines``.

Each pipeline is a module (or small package) that reads like a recipe over ``kpredict``:
load features, split, tune, fit, evaluate, explain, log. They land in later issues; the names are
fixed here so the CLI and the registry agree on them.
"""

from __future__ import annotations

PIPELINES: tuple[str, ...] = ("sales_forecast", "churn", "risk_anomaly", "budget")
