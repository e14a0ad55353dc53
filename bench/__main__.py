"""`make bench`: run every benchmark module and print ratios measured in this one run."""

from __future__ import annotations

import importlib
import platform
import sys
from pathlib import Path

MODULES = ["bench.core", "bench.catalogue", "bench.learning"]


def main() -> int:
    selected = sys.argv[1:] or MODULES
    print(f"# vcollege benchmarks · Python {platform.python_version()} · {platform.machine()}")
    print("# each figure: the fastest of 5 rounds; ratios are against the first line of each block\n")
    lines = []
    for name in selected:
        module = importlib.import_module(name)
        for comparison in module.run():
            block = comparison.lines()
            print("\n".join(block) + "\n")
            lines.extend(block + [""])
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.txt").write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
