"""Coverage of real public DAG files (issue 15). Not a timed test: prints figures.

Translates every file of benchmarks/corpus (see its README: AWS, Astronomer and community DAGs,
vendored unchanged) as `bridge translate` does, validates every output folder, and prints, per
operator family, the tasks translated exact / approximate / manual, then the issue's four figures
against their targets:
  tasks left manual <= 10 %; DAGs with no placeholder >= 80 %;
  SageMaker job and model operators as native steps >= 90 %; DAGs with a valid definition >= 97 %;
and the operators most often left manual (what to write rules for next).

Run: `make bench` (or `uv run python benchmarks/bench_coverage.py [--json] [--no-validate]`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from coverage_figures import coverage_figures, render_text, translate_corpus  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-validate", action="store_true", help="skip validation (faster)")
    args = parser.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="bench-coverage-"))
    try:
        start = time.perf_counter()
        files, outcomes, verdicts = translate_corpus(out, validate=not args.no_validate)
        figures = coverage_figures(files, outcomes, verdicts)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if args.json:
        print(json.dumps({**figures, "seconds": round(seconds, 1)}, indent=2))
        return
    print(f"Real-DAG corpus coverage ({figures['files']} files, {seconds:.0f} s)\n")
    print(render_text(figures))


if __name__ == "__main__":
    main()
