"""A company's own payments table (and KPI table) through the risk detector (``--table``).

- The demo company's payments as an export would name them: the table path finds the injected
  anomalies the demo's own feature repository finds, with reasons in both languages.
- CDNOW's real purchases log (no labels, dates without a time of day): amount spikes, bursts and
  odd-hour purchases injected into copies of real customers' histories are found at a budget of
  their number.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from kpredict.errors import ConfigError, SchemaError

from conftest import shared_data

EXPORT = {"txn_id": "Payment ID", "account_id": "Card", "ts": "Paid at", "amount": "Value", "country": "Nation", "channel": "Via", "merchant_category": "Shop kind"}


def recall_at_budget(scored: pd.DataFrame, injected: set[str], key: str = "txn_id") -> float:
    """Share of the injected events among the ``len(injected)`` highest-ranked ones (rank 1: most anomalous)."""
    top = scored.nsmallest(len(injected), "rank")
    return len(set(top[key].astype(str)) & injected) / len(injected)


@pytest.fixture(scope="module")
def export(small_demo, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("risk_table")
    payments = pd.read_parquet(small_demo / "transactions.parquet").rename(columns=EXPORT)
    payments["Paid at"] = payments["Paid at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    payments.to_csv(tmp / "payments.csv", index=False)
    kpi = pd.read_parquet(small_demo / "store_revenue.parquet").rename(columns={"store_id": "Shop", "date": "Day", "revenue": "Sales"})
    kpi.to_csv(tmp / "kpi.csv", index=False)
    truth = pd.read_parquet(small_demo / "truth" / "transactions.parquet")
    return tmp, payments, truth


@pytest.fixture(scope="module")
def trained(export, own_mlflow):
    from kpredict.pipelines.risk_anomaly.train import train

    tmp, _, _ = export
    table = {
        "path": str(tmp / "payments.csv"), "id": "Card", "time": "Paid at", "amount": "Value", "txn_id": "Payment ID",
        "country": "Nation", "channel": "Via", "merchant": "Shop kind",
        "kpi_table": str(tmp / "kpi.csv"), "kpi_id": "Shop", "kpi_time": "Day", "kpi_value": "Sales",
    }
    return train(table=table, feature_store_dir=str(tmp / "store"))


def test_an_export_finds_the_injected_anomalies_with_reasons_in_both_languages(export, trained, tmp_path) -> None:
    from kpredict import score
    from kpredict.pipelines.risk_anomaly import PIPELINE

    tmp, payments, truth = export
    assert trained.promoted and "kpi_evaluated_steps" in trained.metrics
    config = PIPELINE.load_config(None, feature_store_dir=str(tmp / "store"))
    as_of = pd.Timestamp(payments["Paid at"].max()).normalize() + pd.Timedelta(days=1)
    scored = score("risk_anomaly", str(as_of.date()), model=trained.model_version, config=config, window="30d", output_dir=tmp_path)
    frame = scored.frame
    anomalies = set(truth.loc[truth["is_anomaly"], "txn_id"].astype(str)) & set(frame["txn_id"].astype(str))
    assert len(anomalies) >= 10
    recall = recall_at_budget(frame, anomalies)
    print(f"demo export through --table: recall at a budget of the {len(anomalies)} injected anomalies {recall:.3f}")
    assert recall >= 0.75
    alerts = scored.companions["alerts"]
    assert len(alerts) and alerts["reason_1_en"].str.len().gt(0).all() and alerts["reason_1_zh"].str.len().gt(0).all()
    assert "kpi" in scored.companions and {"Sales", "anomaly_score"} <= set(scored.companions["kpi"].columns) | {"Sales"}


def test_bad_payments_tables_are_named(export, own_mlflow, tmp_path) -> None:
    from kpredict.pipelines.risk_anomaly.train import train

    tmp, payments, _ = export
    base = {"path": str(tmp / "payments.csv"), "id": "Card", "time": "Paid at", "amount": "Value"}
    with pytest.raises(SchemaError, match=r"has no column --amount 'Amount'"):
        train(table=base | {"amount": "Amount"}, feature_store_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"--kpi-table needs --kpi-id, --kpi-time and --kpi-value"):
        train(table=base | {"kpi_table": str(tmp / "kpi.csv")}, feature_store_dir=str(tmp_path))
    payments.head(500).assign(Value="12,50").to_csv(tmp_path / "comma.csv", index=False)
    with pytest.raises(SchemaError, match=r"--amount column 'Value' must hold numbers; 500 row\(s\) do not, e.g. '12,50'"):
        train(table=base | {"path": str(tmp_path / "comma.csv")}, feature_store_dir=str(tmp_path))


def inject(log: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, set[str]]:
    """Copies of 300 real customers active in the spring of 1998 (two or more purchases in the 90 days
    before June: a usual to depart from), new ids, same purchases up to one anomaly in June 1998
    that ends the copy: an amount ten times their largest, a burst of five purchases minutes apart,
    or a purchase at a night hour. Returns the log with them and the injected rows' ids (a burst:
    its last four)."""
    rng = np.random.default_rng(seed)
    when = pd.to_datetime(log["date"].astype(str), format="%Y%m%d")
    spring = log[(when >= "1998-03-03") & (when < "1998-06-01")].groupby("customer").size()
    chosen = rng.choice(spring.index[spring >= 2], size=300, replace=False)
    copies = log[log["customer"].isin(chosen)].copy()
    copies["customer"] = "copy-" + copies["customer"].astype(str)
    rows, injected = [], set()
    kept = []
    for i, (customer, history) in enumerate(copies.groupby("customer")):
        day = pd.Timestamp("1998-06-01") + pd.Timedelta(days=int(rng.integers(0, 29)))
        # the anomaly ends the copy's history: later real purchases would be judged against it
        kept.append(history[pd.to_datetime(history["date"].astype(str), format="%Y%m%d") < day])
        typical = float(history["amount"].median())
        kind = ("spike", "burst", "night")[i % 3]
        if kind == "spike":
            new = [(day, 10 * float(history["amount"].max()) + 50)]
        elif kind == "burst":
            new = [(day + pd.Timedelta(minutes=2 * k), typical) for k in range(5)]  # at the account's usual time of day
        else:
            new = [(day + pd.Timedelta(hours=3, minutes=17), typical)]
        for k, (when, amount) in enumerate(new):
            txn = f"inj-{i}-{k}"
            rows.append({"txn": txn, "customer": customer, "when": when, "cds": 1, "amount": amount})
            if kind != "burst" or k > 0:
                injected.add(txn)
    copies = pd.concat(kept)
    base = log.assign(txn=[f"r{i}" for i in range(len(log))], when=pd.to_datetime(log["date"].astype(str), format="%Y%m%d"))
    copies = copies.assign(txn=[f"c{i}" for i in range(len(copies))], when=pd.to_datetime(copies["date"].astype(str), format="%Y%m%d"))
    out = pd.concat([base, copies, pd.DataFrame(rows)], ignore_index=True)[["txn", "customer", "when", "cds", "amount"]]
    out["when"] = out["when"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return out, injected


@pytest.mark.slow
def test_cdnow_purchases_with_injected_anomalies_are_found_at_a_budget_of_their_number(own_mlflow, tmp_path) -> None:
    from kpredict import score
    from kpredict.pipelines.risk_anomaly import PIPELINE
    from kpredict.pipelines.risk_anomaly.train import train

    path = shared_data("transactions/cdnow/CDNOW_master.txt")
    log = pd.read_csv(path, sep=r"\s+", header=None, names=["customer", "date", "cds", "amount"])
    assert len(log) == 69_659
    table, injected = inject(log)
    table.to_csv(tmp_path / "purchases.csv", index=False)
    result = train(table={"path": str(tmp_path / "purchases.csv"), "id": "customer", "time": "when", "amount": "amount", "txn_id": "txn"},
                   feature_store_dir=str(tmp_path / "store"))
    config = PIPELINE.load_config(None, feature_store_dir=str(tmp_path / "store"))
    scored = score("risk_anomaly", "1998-07-01", model=result.model_version, config=config, window="30d", output_dir=tmp_path / "out")
    frame = scored.frame
    by_kind = {kind: {t for t in injected if int(t.split("-")[1]) % 3 == k} for k, kind in enumerate(("spike", "burst", "night"))}
    recall = recall_at_budget(frame, injected)
    print(f"CDNOW with {len(injected)} injected anomalies: recall at their number {recall:.3f}; "
          + ", ".join(f"{kind} {len(set(frame.nsmallest(len(injected), 'rank')['txn_id']) & ids) / len(ids):.2f}" for kind, ids in by_kind.items()))
    assert recall >= 0.8
    alerts = scored.companions["alerts"]
    assert alerts["reason_1_en"].str.len().gt(0).all() and alerts["reason_1_zh"].str.len().gt(0).all()
    # the budget (5 in 1,000) holds on the real purchases; the injected ones come on top of it
    assert result.metrics["alert_threshold"] == pytest.approx(1 - 5 / 1000)
    real = frame[frame["txn_id"].astype(str).str.startswith("r")]  # the log's own purchases (copies repeat some of them)
    print(f"alerts among the real purchases: {real['is_alert'].mean() * 1000:.1f} per 1,000")
    assert real["is_alert"].mean() <= 2 * 5 / 1000
