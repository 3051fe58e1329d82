"""Download the corpus files that are not committed (taken from GitHub repositories) at the
commits the manifest names, and check each against its sha256.

Run: `uv run python benchmarks/fetch_corpus.py` (needs access to raw.githubusercontent.com).
The committed files (PyPI releases' bytes) need nothing.
"""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent / "corpus"
RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def main() -> int:
    failed = 0
    for entry in json.loads((HERE / "manifest.json").read_text()):
        target = HERE / "dags" / entry["file"]
        if entry["vendored"] or target.exists():
            continue
        url = RAW.format(**entry)
        try:
            with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (https only)
                data = response.read()
        except OSError as exc:
            print(f"{entry['file']}: {url}: {exc}", file=sys.stderr)
            failed += 1
            continue
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            print(f"{entry['file']}: {url} does not match its sha256", file=sys.stderr)
            failed += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        print(f"fetched {entry['file']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
