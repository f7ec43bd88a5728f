"""Demo company generation time per size (goals: small < 5 s, default < 30 s on 2 cores)."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time


def main(sizes: tuple[str, ...] = ("small", "default"), repeats: int = 3) -> dict[str, float]:
    from kpredict.datasets import generate

    results = {}
    for size in sizes:
        times = []
        for _ in range(repeats if size != "large" else 1):
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                generate(out, size=size, seed=0)
                times.append(time.perf_counter() - start)
        results[size] = statistics.median(times)
    print("\nDemo company generation (median)")
    for size, seconds in results.items():
        print(f"  {size:<8} {seconds:6.1f} s")
    return results


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or ("small", "default"))
