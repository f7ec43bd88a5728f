"""Independent, reproducible random streams, one per (seed, stream name).

Why named streams instead of one generator passed around: adding a table or drawing one more number
in one domain must not change the bytes of every other table. The stream name is turned into a
stable integer (CRC-32, identical on every platform and Python version; ``hash()`` is salted per
process) and used as the spawn key of a ``SeedSequence``.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["stream"]


def stream(seed: int, name: str) -> np.random.Generator:
    """A ``numpy`` generator that depends only on ``seed`` and ``name``."""
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(key,)))
