"""Bounded retries for a sqlite store that several processes write at once.

Why: sqlite lets one writer in at a time. MLflow waits for the lock (``busy_timeout``), but a
transaction that read first and then wants to write while another writer holds the lock fails at
once with "database is locked" (sqlite refuses to wait there, to avoid a deadlock). Trying the
whole operation again a moment later succeeds; the failed attempt was rolled back.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["is_transient", "with_retries"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPTS = 8
_BASE_DELAY_S = 0.05
_MAX_DELAY_S = 1.0
# Lock conflicts from sqlite, and MLflow giving up after its own 3 tries at a free version number.
_TRANSIENT_MARKERS = ("database is locked", "database table is locked", "model version creation")


def is_transient(exc: BaseException) -> bool:
    """True for errors that a later attempt of the same operation can get past."""
    text = str(exc).lower()
    return any(marker in text for marker in _TRANSIENT_MARKERS)


def with_retries(
    operation: Callable[[], T],
    *,
    what: str,
    attempts: int = ATTEMPTS,
    before_retry: Callable[[], T | None] | None = None,
) -> T:
    """Run ``operation``, retrying transient store errors with jittered exponential backoff.

    Args:
        operation: The call to make; must be safe to repeat after a transient failure.
        what: What is being done, for the log (no data values).
        attempts: Total attempts, at least 1.
        before_retry: Called before each retry; a non-None result is returned instead of
            retrying (e.g. the version an attempt created before its error surfaced).

    Returns:
        What ``operation`` (or ``before_retry``) returned.

    Raises:
        Exception: The last error, when it is not transient or attempts are used up.
    """
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except Exception as exc:
            if attempt >= attempts or not is_transient(exc):
                raise
            delay = min(_MAX_DELAY_S, _BASE_DELAY_S * 2 ** (attempt - 1))
            delay *= 0.5 + random.random()  # noqa: S311 - jitter, not security
            logger.info(
                "%s: store busy (attempt %d of %d), retrying in %.2f s",
                what,
                attempt,
                attempts,
                delay,
            )
            time.sleep(delay)
            if before_retry is not None:
                found = before_retry()
                if found is not None:
                    return found
    raise AssertionError("unreachable")  # pragma: no cover
