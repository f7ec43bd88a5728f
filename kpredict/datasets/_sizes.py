"""The three sizes of the demo company, as frozen parameter sets.

Why three: ``small`` keeps the test suite fast, ``default`` is what ``kpredict demo`` trains on a
laptop in minutes, ``large`` is for benchmarks (at least 10M transactions and 5,000 daily series).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SIZES", "DemoSize"]


@dataclass(frozen=True)
class DemoSize:
    """How big each part of the demo company is.

    Attributes:
        name: ``"small"``, ``"default"`` or ``"large"``.
        n_stores: Stores; every store sells every product, so series = stores x products.
        n_products: Products.
        sales_years: Whole years of daily sales ending on ``DEMO_END``.
        n_customers: Customers signed up before or during the customer span.
        customer_years: Whole years of the customer simulation.
        n_accounts: Payment accounts.
        txn_years: Whole years of transactions.
        txns_per_account_day: Mean normal transactions per account per day.
        marketing_weeks: Complete Monday-to-Sunday weeks of marketing data.
    """

    name: str
    n_stores: int
    n_products: int
    sales_years: int
    n_customers: int
    customer_years: int
    n_accounts: int
    txn_years: int
    txns_per_account_day: float
    marketing_weeks: int

    @property
    def n_series(self) -> int:
        """Store x product series of the sales table."""
        return self.n_stores * self.n_products


SIZES: dict[str, DemoSize] = {
    "small": DemoSize(
        name="small",
        n_stores=3,
        n_products=8,
        sales_years=2,
        n_customers=600,
        customer_years=1,
        n_accounts=200,
        txn_years=1,
        txns_per_account_day=0.72,
        marketing_weeks=104,
    ),
    "default": DemoSize(
        name="default",
        n_stores=10,
        n_products=40,
        sales_years=2,
        n_customers=8_000,
        customer_years=2,
        n_accounts=3_000,
        txn_years=1,
        txns_per_account_day=1.0,
        marketing_weeks=156,
    ),
    "large": DemoSize(
        name="large",
        n_stores=50,
        n_products=100,
        sales_years=3,
        n_customers=200_000,
        customer_years=2,
        n_accounts=30_000,
        txn_years=1,
        txns_per_account_day=1.0,
        marketing_weeks=156,
    ),
}
