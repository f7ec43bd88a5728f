"""The whole loop on the demo company: ``kpredict demo`` end to end (goal: under 5 minutes on 2 cores).

Runs the demo in a fresh project folder (the repository's configs, its own data, store and MLflow
store), ``--repeats`` times, and prints the median wall time against the goal and each stage's
time as the demo reports it (generation, each pipeline's training, the report), so a regression
shows where it went. Not part of ``make bench`` (it takes minutes):

    python -m benchmarks.bench_demo [--repeats 1] [--size default]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_S = 300.0
_STAGES = {
    "generate": re.compile(r"generated \d+ tables in .* \(([\d.]+) s\)"),
    "train": re.compile(r"trained version \d+ in (\d+) s"),
    "report": re.compile(r"one report for .* \((\d+) s\)"),
}


def run_once(size: str) -> tuple[float, dict[str, list[float]], str]:
    """Wall seconds of one demo in a fresh folder, its stage times and its output."""
    kpredict = shutil.which("kpredict") or str(Path(sys.executable).parent / "kpredict")
    with tempfile.TemporaryDirectory(prefix="kpredict-demo-bench-") as folder:
        shutil.copytree(REPO / "configs", Path(folder) / "configs")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_") and k != "KPREDICT_MODELS_DIR"}
        started = time.perf_counter()
        done = subprocess.run([kpredict, "demo", "--size", size], cwd=folder, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"kpredict demo failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    text = " ".join(done.stdout.split())
    stages = {name: [float(v) for v in pattern.findall(text)] for name, pattern in _STAGES.items()}
    return wall, stages, done.stdout


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--size", default="default", choices=["small", "default", "large"])
    args = parser.parse_args(argv)
    walls = []
    for attempt in range(args.repeats):
        wall, stages, _ = run_once(args.size)
        walls.append(wall)
        trained = " + ".join(f"{s:.0f}" for s in stages["train"])
        print(f"demo run {attempt + 1}: {wall:.0f} s (generate {sum(stages['generate']):.0f} s, training {trained} s, "
              f"report {sum(stages['report']):.0f} s; the rest: features, scoring, start-up)", flush=True)
    median = statistics.median(walls)
    print(f"kpredict demo ({args.size}), median of {len(walls)}: {median:.0f} s; goal {GOAL_S:.0f} s -> {median / GOAL_S:.2f}x the goal")
    return {"median_s": median}


if __name__ == "__main__":
    main()
