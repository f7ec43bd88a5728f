"""Start-up time: ``import kpredict`` and ``kpredict --help`` (goal: under 0.5 s each).

Medians of several fresh interpreters, beside a bare ``python -c pass`` and the import of the
whole heavy stack (what we avoid loading eagerly) for reference.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time

STACK = "import pandas, mlflow, lightgbm, shap, statsforecast, duckdb"


def _median_seconds(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(repeats: int = 7) -> dict[str, float]:
    cli = shutil.which("kpredict") or str(__import__("pathlib").Path(sys.executable).parent / "kpredict")
    results = {
        "python -c pass": _median_seconds([sys.executable, "-c", "pass"], repeats),
        "import kpredict": _median_seconds([sys.executable, "-c", "import kpredict"], repeats),
        "kpredict --help": _median_seconds([cli, "--help"], repeats),
        "heavy stack import (reference)": _median_seconds([sys.executable, "-c", STACK], 3),
    }
    print(f"\nStart-up (median of {repeats} fresh processes; goal < 0.5 s)")
    for name, seconds in results.items():
        print(f"  {name:<32} {seconds:6.2f} s")
    return results


if __name__ == "__main__":
    main()
