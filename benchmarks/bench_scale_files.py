"""Benchmark `bridge translate` over a folder of many DAG files (issue 17). Not a timed test:
prints figures and ratios.

The folder: N copies of sample_dags/*.py, each DAG id made distinct (`make_folder`, reusable),
with the samples' data folders next to them. Printed for `bridge translate --no-validate`: wall
seconds, CPU seconds of the command and its children over wall (about the number of cores kept
busy), and the ratio to Airflow's DagBag loading the same folder in a cold process.

CPU time is counted for every process of the command: this process becomes a child subreaper,
so that processes orphaned on the way (each worker's parse worker outlives it for a moment) are
reaped here and counted too.

Run: `uv run python benchmarks/bench_scale_files.py [N] [FOLDER]` (N files, 100 by default,
written to FOLDER/dags, a temporary folder by default).
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_graph import BRIDGE, REPEAT, airflow_env, dagbag_seconds  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "sample_dags"


def make_folder(dest: Path, n: int, samples: Path = SAMPLES) -> list[Path]:
    """`n` DAG files in `dest`: the sample DAG files in turn, copy k's DAG id (the quoted file
    stem, as every sample spells its id) suffixed `_k`; the samples' data folders copied along,
    as the DAGs read them next to their file. Returns the files written."""
    sources = sorted(p for p in samples.glob("*.py") if not p.name.startswith("_"))
    dest.mkdir(parents=True, exist_ok=True)
    for folder in (p for p in samples.iterdir() if p.is_dir() and p.name != "__pycache__"):
        shutil.copytree(folder, dest / folder.name, dirs_exist_ok=True)
    written = []
    for k in range(n):
        source = sources[k % len(sources)]
        stem = source.stem
        text = re.sub(rf"([\"']){re.escape(stem)}\1", rf"\g<1>{stem}_{k:03d}\1", source.read_text())
        path = dest / f"{stem}_{k:03d}.py"
        path.write_text(text)
        written.append(path)
    return written


def best_figures(folder: Path, out: Path, env: dict, *extra: str) -> tuple[float, float]:
    """translate_figures of the fastest of REPEAT runs: on a shared machine, the run others
    disturbed least."""
    return min(translate_figures(folder, out, env, *extra) for _ in range(REPEAT))


def translate_figures(folder: Path, out: Path, env: dict, *extra: str) -> tuple[float, float]:
    """Wall seconds and (CPU seconds of the command and its children) / wall, cold process."""
    shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [*BRIDGE, "translate", "--no-validate", "-o", str(out), *extra, str(folder)],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - start
    _reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1) or done.stdout.count("\n") < 1:
        raise SystemExit(f"bridge translate failed: {done.stderr[-800:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu / wall


def _become_subreaper() -> None:
    """Orphaned descendants are given to this process (Linux), which reaps and counts them."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _reap_orphans() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    base = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="bench-scale-"))
    folder, out = base / "dags", base / "out"
    shutil.rmtree(folder, ignore_errors=True)
    files = make_folder(folder, n)
    _become_subreaper()
    env = airflow_env()
    cores = len(os.sched_getaffinity(0))
    print(f"python {sys.version.split()[0]}, {cores} cores; {len(files)} DAG files in {folder}\n")
    wall_1, ratio_1 = best_figures(folder, out, env, "--jobs", "1")
    wall, ratio = best_figures(folder, out, env)
    written = sum(1 for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    t_dagbag = dagbag_seconds([str(folder)], env)
    print(f"bridge translate --no-validate (cold process, fastest of {REPEAT})")
    print(f"   --jobs 1          {wall_1:6.2f} s   CPU/wall {ratio_1:4.2f}")
    print(
        f"   --jobs {cores} (default) {wall:6.2f} s   CPU/wall {ratio:4.2f}   ({written} folders)"
    )
    print(f"   speed-up          {wall_1 / wall:6.2f} x")
    print(f"DagBag (anchor)      {t_dagbag:6.2f} s")
    print(f"ratio bridge/DagBag  {wall / t_dagbag:6.2f}")
    shutil.rmtree(env["AIRFLOW_HOME"], ignore_errors=True)


if __name__ == "__main__":
    main()
