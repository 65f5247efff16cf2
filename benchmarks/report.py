"""Report rendering: seconds and size of index.html as the number of findings grows.

Usage: python benchmarks/report.py [--quick]   (from the repository root)
One real campaign (the reference tape, a planted wrong tanh rule, a backend raising on sin) gives the
findings; larger reports copy and perturb them (every tenth gets a 500-element input). Prints one table;
the 2 MB column is the issue's budget for a run with many findings.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(quick: bool) -> None:
    from advalidate.backends.numpy_ref import NumpyReference
    from advalidate.report import render_report
    from tests.report_data import Raising, bad_tanh, many_findings, measured_cost, run

    t0 = time.perf_counter()
    results = run([NumpyReference(), bad_tanh(), Raising("crashy", "sin", "boom")], n=60)
    results["cost"] = measured_cost()
    print(f"campaign: {time.perf_counter() - t0:.1f} s, {len(results['findings'])} real findings")
    render_report(results)  # warm up imports (matplotlib, jinja2)
    print(f"{'findings':>9} {'render s':>9} {'size KB':>9} {'< 2 MB':>7}")
    for count in ([0, 50] if quick else [0, 10, 50, 200, 1000]):
        data = many_findings(results, count)
        t = time.perf_counter()
        html = render_report(data)
        seconds = time.perf_counter() - t
        size = len(html.encode())
        print(f"{count:>9} {seconds:>9.2f} {size / 1024:>9.0f} {'yes' if size < 2_000_000 else 'NO':>7}")


if __name__ == "__main__":
    main("--quick" in sys.argv)
