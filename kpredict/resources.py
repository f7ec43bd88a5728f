"""What this process may use of the machine: the default for every ``n_jobs``."""

from __future__ import annotations

import os

__all__ = ["usable_cores"]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container or ``taskset`` sets it),
    not the machine's count: a job pinned to 2 of 64 cores that starts 64 workers only thrashes."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)
