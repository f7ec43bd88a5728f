"""The Dask cluster statsforecast's distributed backend (fugue) runs on.

Order of preference: the client already active in this process (a scheduler or notebook set it
up), the scheduler named by Dask's own config (``DASK_SCHEDULER_ADDRESS``), else a local cluster of
``n_workers`` single-threaded processes that lives for the duration of the call. Starting the
cluster here rather than letting fugue do it means it is closed afterwards and never binds the
dashboard port.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["dask_client"]


@contextmanager
def dask_client(n_workers: int = 2) -> Iterator[object]:
    """Yield a ``distributed.Client``; one this function started is closed on exit."""
    from kpredict.errors import require_extra

    require_extra("distributed", "dask")
    import dask
    from distributed import Client, LocalCluster, default_client

    try:
        yield default_client()
        return
    except ValueError:  # no active client
        pass
    address = dask.config.get("scheduler-address", None)
    if address:
        with Client(address) as client:
            yield client
        return
    with LocalCluster(n_workers=max(1, n_workers), threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        yield client
