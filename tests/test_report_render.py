"""The HTML report as text: structure, the matrix's statuses, escaping, missing data, size, and the CLI."""

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from hypothesis import strategies as st

from advalidate import plots
from advalidate.builder import Builder
from advalidate.backends.numpy_ref import NumpyReference
from advalidate.cli_report import add_parser, main
from advalidate.report import matrix, render_report, write_report
from advalidate.results import validate, write_json

from .helpers import Example, Raising, chains
from .report_data import XSS_IMG, XSS_TITLE, bad_tanh, hostile_backends, many_findings, measured_cost, run

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")


@pytest.fixture(scope="module")
def hostile():
    results = run(hostile_backends(), n=80)
    results["cost"] = measured_cost()
    validate(results)
    return results


@pytest.fixture(scope="module")
def hostile_html(hostile):
    return render_report(hostile)


class Tags(HTMLParser):
    """Counts start tags and classes, and collects every attribute name (to spot injected handlers)."""

    def __init__(self):
        super().__init__()
        self.tags, self.classes, self.attrs, self.scripts = {}, {}, set(), []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for k, v in attrs:
            self.attrs.add(k)
            if k == "class":
                for c in (v or "").split():
                    self.classes[(tag, c)] = self.classes.get((tag, c), 0) + 1

    def handle_data(self, data):
        if self.lasttag == "script":
            self.scripts.append(data)


def parse(html):
    p = Tags()
    p.feed(html)
    return p


def test_the_report_has_the_matrix_plots_and_a_card_per_finding(hostile, hostile_html):
    html = hostile_html
    page = parse(html)
    assert page.classes[("table", "matrix")] == 1
    assert page.tags["svg"] == 4  # error ratios, cost vs m, seed chain, coverage
    assert page.classes[("article", "finding")] == len(hostile["findings"]) == 3
    for f in hostile["findings"]:
        assert f'id="{f["id"]}"' in html and f["replay"] in html
    assert "advalidate replay" in html and "def f(x0):" in html
    seed = hostile["cost"]["seed"]["numpy-ref"]
    for slope in (seed["slope_vjp"], seed["slope_jacobian"]):  # the fitted slopes in the seed plot's legend
        assert f"slope {slope:.2f}" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', "")  # self-contained: nothing to fetch


def test_the_page_reads_fully_without_javascript(hostile_html):
    assert '<form id="filters" hidden>' in hostile_html  # the script shows the filters
    assert not re.search(r"<article[^>]*\bhidden\b", hostile_html)  # and only the script hides cards


def test_advalidate_run_writes_the_report_next_to_the_results(hostile, tmp_path):
    from advalidate.cli_run import _write_report

    path = _write_report(hostile, tmp_path)
    assert path == tmp_path / "index.html" and "<table class=\"matrix\">" in path.read_text()


def test_hostile_text_is_escaped_everywhere(hostile, hostile_html):
    html = hostile_html
    page = parse(html)
    assert page.tags["script"] == 1 and page.tags.get("img", 0) == 0
    assert not any(a.startswith("on") for a in page.attrs)
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html
    assert XSS_TITLE not in html and XSS_IMG not in html
    # the plots' labels (backend names) are escaped by matplotlib's SVG writer
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert any("nan-exp&lt;script&gt;" in s for s in svgs)


def test_the_only_script_is_allowed_by_its_hash(hostile, hostile_html):
    html = hostile_html
    script = parse(html).scripts[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp


def test_matrix_statuses_follow_the_findings(tmp_path):
    (tmp_path / "bad-tanh.txt").write_text("# planted: uses 1 - y\nwrong-value tanh\n"
                                         "    function: tanh(x0)\n    inputs: x0 = 0.5\n    cotangents: 1.0\n")
    # no exp: chains of exp saturate tanh, a real precision loss of the textbook tanh rule
    raiser = Raising("raiser", "arctan", "arctan is not implemented", ValueError)
    results = run([NumpyReference(), bad_tanh(), raiser], n=60, known_dir=str(tmp_path),
                  strategy=chains(names=("sin", "tanh", "square", "arctan")))
    results["backends"].append({"name": "ghost", "version": "", "dtypes": [], "supported": [],
                                "unsupported": [], "error": "ImportError: no module named ghost"})
    from advalidate import CATALOGUE

    results["backends"][0]["unsupported"] = [n for n, p in CATALOGUE.items() if p.family == "linalg"]
    rows = {r["backend"]: {(c["family"], c["property"]): c["status"] for c in r["cells"]}
            for r in matrix(results)["rows"]}
    assert rows["numpy-ref"][("elementwise", "value")] == "pass"
    assert rows["numpy-ref"][("elementwise", "cost")] == "pass"
    assert rows["numpy-ref"][("linalg", "value")] == "unsupported"  # every primitive of the family missing
    assert rows["numpy-ref"][("reduction", "value")] == "untested"
    assert rows["bad-tanh"][("elementwise", "value")] == "known"
    assert rows["bad-tanh"][("elementwise", "cost")] == "pass"
    assert rows["raiser"][("elementwise", "value")] == "finding"
    assert set(rows["ghost"].values()) == {"not-loaded"}
    html = render_report(results)
    assert "known behaviour" in html and "planted: uses 1 - y" in html


def test_a_cost_finding_marks_the_cost_column_only():
    results = run([NumpyReference()], n=20)
    results["findings"] = [{"id": "F001", "backend": "numpy-ref", "kind": "cost-bound", "signature": "sum+tanh",
                            "known": False}]
    rows = {(c["family"], c["property"]): c["status"] for c in matrix(results)["rows"][0]["cells"]}
    assert rows[("reduction", "cost")] == rows[("elementwise", "cost")] == "finding"
    assert rows[("elementwise", "value")] == "pass"


def test_a_plot_without_data_is_omitted_with_the_reason():
    results = run([NumpyReference()], n=15, measure_work=False)
    assert results["cost"] is None and not results["stats"]["cost_ratios"]
    html = render_report(results)
    assert html.count("<svg") == 2  # error ratios and coverage; no cost plot can be drawn
    assert "No work was counted in this run" in html
    assert "The seed&#39;s O(N) vs O(N²) sweep is not in this results.json" in html


def test_without_cost_sweeps_the_campaigns_own_cost_samples_are_plotted():
    results = run([NumpyReference()], n=15)
    assert results["cost"] is None and results["stats"]["cost_ratios"]["numpy-ref"]
    html = render_report(results)
    assert html.count("<svg") == 3 and "the cost sweeps with the full-Jacobian line did not run" in html


def test_a_run_without_findings_renders():
    results = run([NumpyReference()], n=30)
    assert not results["findings"]
    html = render_report(results)
    page = parse(html)
    assert "No findings" in html and page.classes.get(("article", "finding"), 0) == 0
    assert 'class="verdict good"' in html and page.classes[("table", "matrix")] == 1


def test_many_findings_render_under_two_megabytes(hostile, tmp_path):
    results = many_findings(hostile, 60)
    validate(results)
    path = write_report(results, tmp_path / "index.html")
    html = path.read_text()
    assert parse(html).classes[("article", "finding")] == 60
    assert path.stat().st_size < 2_000_000, path.stat().st_size
    assert "(500 values, shape [500]: all of them are in results.json)" in html


def test_a_projected_mode_finding_shows_the_projections():
    b = Builder()
    fn = b.build(b.tanh(b.input(60)))  # more inputs than FULL_MODE_LIMIT: the oracle projects
    wide = st.just(Example(fn, [np.linspace(-0.9, 0.9, 60)], [np.linspace(1.0, 2.0, 60)]))
    results = run([NumpyReference(), bad_tanh()], n=3, strategy=wide)
    f = next(f for f in results["findings"] if f["backend"] == "bad-tanh")
    assert f["oracle"]["mode"] == "projected"
    html = render_report(results)
    assert "Projected mode" in html and "⟨ḡ, u<sub>k</sub>⟩" in html
    # the backend's projections are recomputed from its gradient and the oracle's directions
    grads = np.array(f["backend_grads"][0], dtype=float)
    first = float(np.sum(grads * np.array(f["oracle"]["directions"][0][0], dtype=float)))
    assert f"{first:.17g}" in html


def test_plot_labels_cannot_start_mathtext_or_markup():
    svg, why = plots.error_ratios({"$\\alpha$<b>": [0.1, 2.0, "inf", 0.0]})
    assert why is None and "<b>" not in svg and "&lt;b&gt;" in svg and "$\\alpha$" in svg


def test_report_cli(tmp_path, hostile, capsys):
    import argparse

    parser = argparse.ArgumentParser(prog="advalidate")
    add_parser(parser.add_subparsers())
    write_json(tmp_path / "results.json", hostile)
    args = parser.parse_args(["report", str(tmp_path / "results.json"), "-o", str(tmp_path / "out/r.html")])
    assert args.func(args) == 0
    assert (tmp_path / "out/r.html").read_text().startswith("<!DOCTYPE html>")
    assert main(parser.parse_args(["report", str(tmp_path / "results.json")])) == 0
    assert (tmp_path / "index.html").exists()

    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "other.json").write_text(json.dumps({"schema": "something/else"}))
    broken = dict(hostile, summary={"examples": -1})
    write_json(tmp_path / "broken.json", broken)
    capsys.readouterr()
    for name, message in [("missing.json", "no results file"), ("bad.json", "is not valid JSON"),
                          ("other.json", "schema 'something/else' is not"),
                          ("broken.json", "does not follow the results schema at summary")]:
        assert main(parser.parse_args(["report", str(tmp_path / name)])) == 2
        assert message in capsys.readouterr().err


def test_an_error_ratio_near_the_float_maximum_is_plotted_at_the_right_edge():
    """A finite ratio of 1e308 (autograd's repeat misses by 2.25e307) once put the axis edge at 3e308 = inf and the
    report, written after the campaign, failed in matplotlib's tick labels."""
    svg, why = plots.error_ratios({"autograd": [0.5, 2.25e307, 1e308], "jax": [0.1, "nan"]})
    assert why is None and svg.startswith("<svg")


def test_a_report_that_fails_is_said_and_the_results_stay(hostile, tmp_path, monkeypatch, capsys):
    """advalidate run writes results.json first; a failure while rendering the report (the plot crash of a --special
    campaign) is one line on stderr naming it and the command that renders again, not a traceback."""
    from advalidate import report
    from advalidate.cli_run import _write_report

    def broken(results, path):
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr(report, "write_report", broken)
    assert _write_report(hostile, tmp_path) is None
    err = capsys.readouterr().err
    assert "OverflowError: cannot convert float infinity to integer" in err and "advalidate report" in err
