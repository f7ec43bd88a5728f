"""Deterministic generator of the embedded demo company, with its ground truth.

``generate(out_dir, size, seed)`` writes four domains, one per kpredict decision, as parquet files
plus what the generator knows and no model can see (``truth/``), and a ``manifest.json`` written
last::

    stores, products, holidays, promotions,          stocking   (kpredict.datasets.sales)
      sales, inventory
    customers, subscriptions, orders, tickets        retention  (kpredict.datasets.customers)
      truth/churn                                      exact 30-day churn probabilities
    accounts, transactions, store_revenue            investigation (.transactions, .revenue)
      truth/transactions, truth/store_revenue          injected anomalies
    marketing                                        spend      (kpredict.datasets.marketing)
      truth/marketing.json                             adstock, saturation, optimal allocation

Each module's docstring tells its generative story: that story is the ground truth tests rely on.
"""

from __future__ import annotations

from kpredict.datasets._calendar import DEMO_END
from kpredict.datasets._sizes import SIZES, DemoSize
from kpredict.datasets.demo import GENERATOR_VERSION, DemoManifest, generate

__all__ = ["DEMO_END", "GENERATOR_VERSION", "SIZES", "DemoManifest", "DemoSize", "generate"]
