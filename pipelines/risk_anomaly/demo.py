"""The risk step of ``kpredict demo``: train the detector, score the last week, show the alerts."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kpredict.pipeline import DemoContext
from kpredict.pipelines.risk_anomaly.train import load_labels

__all__ = ["run"]

#: the demo scores the week before its date
WINDOW = "7d"


def _measured(m: dict[str, float]) -> str:
    found = m.get("holdout_recall_at_budget")
    if found is None:
        line = f"{m['holdout_alerts_per_day']:.0f} alerts a day on the holdout"
    else:
        line = (
            f"holdout recall at a budget of the known anomalies {found:.0%} "
            f"(IsolationForest on the raw columns {m['baseline_holdout_recall_at_budget']:.0%}), {m['holdout_alerts_per_day']:.0f} alerts a day"
        )
    if "kpi_recall_at_budget" in m:
        kinds = ", ".join(f"{k.removeprefix('kpi_recall_at_budget_').replace('_', ' ')} {v:.0%}" for k, v in sorted(m.items()) if k.startswith("kpi_recall_at_budget_"))
        line += f"; KPI events caught at a budget of their number {m['kpi_recall_at_budget']:.0%} ({kinds})"
    return line


def run(context: DemoContext) -> dict[str, Any]:
    """Train on the demo company's payments, score the week before the demo date, print the alerts."""
    result = context.train(_measured)
    scored = context.score(window=WINDOW)
    alerts = scored.companions["alerts"]
    line = f"scored {len(scored.frame):,} payments of the {WINDOW} before {context.as_of}: {int(scored.frame['is_alert'].sum()):,} alerts, {len(alerts):,} after one per account a day"
    labels = load_labels(context.config)
    if labels is not None:
        in_window = scored.frame["txn_id"].isin(labels.loc[labels["is_anomaly"], "txn_id"]).to_numpy()
        if in_window.any():
            line += f"; they catch {scored.frame['is_alert'].to_numpy()[in_window].mean():.0%} of the {int(in_window.sum())} known anomalies"
    context.console.print(line + f" -> {scored.companion_paths['alerts']}")
    context.print_table(
        "Most severe alerts", ["account", "time", "score", "severity", "top reason"],
        ([r.account_id, str(r.ts), f"{r.anomaly_score:.4f}", r.severity, r.reason_1_en or "-"] for r in alerts.head(5).itertuples()),
    )
    outputs = {"training": result, "scores": scored, "alerts": scored.companion_paths["alerts"]}
    if "kpi" in scored.companions:
        kpi, kpi_alerts, spec = scored.companions["kpi"], scored.companions["kpi_alerts"], context.config.kpi
        context.console.print(
            f"scored {len(kpi):,} {spec.value_column} steps of the same {WINDOW}: {len(kpi_alerts):,} alert(s) -> {scored.companion_paths['kpi_alerts']}"
        )
        context.print_table(
            f"Most unusual {spec.value_column}", [spec.id_column, "day", "score", "alert", "reason"],
            ([getattr(r, spec.id_column), str(pd.Timestamp(r.ts).date()), f"{r.anomaly_score:.4f}", "yes" if r.is_alert else "no", r.reason_1_en] for r in kpi.head(3).itertuples()),
        )
        outputs["kpi_alerts"] = scored.companion_paths["kpi_alerts"]
    return outputs
