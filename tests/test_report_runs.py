"""One page from several runs (``advalidate report A.json B.json``): the runs side by side with their own settings,
the matrix run by run, a finding present in one run and absent in another, labels, the CLI and its errors."""

import argparse
import copy
import json
import re
from html.parser import HTMLParser

import pytest

from advalidate.backends.numpy_ref import NumpyReference
from advalidate.cli_report import add_parser
from advalidate.merge import merge_results
from advalidate.report import render_report
from advalidate.report_runs import compare, label_runs, render_runs, run_matrix, runs_from, write_runs
from advalidate.results import validate, write_json

from .helpers import chains
from .report_data import XSS_IMG, XSS_TITLE, bad_tanh, run
from .test_report_render import parse as parse_tags

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")


@pytest.fixture(scope="module")
def two_runs():
    """float64 (seed 3) with tanh in the programs: the planted tanh rule is found; float32 (seed 4) without tanh:
    the same backends run and that finding is absent."""
    wide = run([NumpyReference(), bad_tanh()], n=30, seed=3)
    narrow = run([NumpyReference(), bad_tanh()], n=30, seed=4, dtype="float32",
                 strategy=chains(names=("sin", "square", "exp")))
    for r in (wide, narrow):
        validate(r)
    assert any(f["backend"] == "bad-tanh" and "tanh" in f["signature"] for f in wide["findings"])
    assert not any("tanh" in f["signature"] for f in narrow["findings"])
    return wide, narrow


class Tables(HTMLParser):
    """The text of every cell of every table, by the table's class: {class: [[cell, ...], ...]}; and each cell's
    class and link."""

    def __init__(self, html):
        super().__init__()
        self.tables, self._table, self._cell, self._attrs = {}, None, None, {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("class") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = {"text": "", "class": attrs.get("class") or "", "href": None, "row_class": ""}
            self._table[-1].append(self._cell)
        elif tag == "a" and self._cell is not None:
            self._cell["href"] = attrs.get("href")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            if self._cell is not None:
                self._cell["text"] = " ".join(self._cell["text"].split())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def texts(rows):
    return [[c["text"] for c in row] for row in rows]


def test_two_runs_side_by_side_with_their_own_settings(two_runs):
    wide, narrow = two_runs
    runs = runs_from([wide, narrow], sources=["f64/results.json", "f32/results.json"])
    assert [r.label for r in runs] == ["float64", "float32"]  # the dtype differs: it names the runs
    html = render_runs(runs)
    tables = Tables(html).tables
    header = {row[0]: row[1:] for row in texts(tables["runs"])}
    assert header["run"] == ["float64", "float32"]  # a column per run
    assert header["setting: dtype"] == ["float64", "float32"]
    assert header["setting: seed"] == ["3", "4"]
    assert header["examples"] == ["30", "30"] and header["results file"] == ["f64/results.json", "f32/results.json"]
    assert header["findings"] == [str(len(wide["findings"])), str(len(narrow["findings"]))]
    assert "setting: omega" not in header  # the same in both runs: said once, below
    common = re.search(r'<dl class="common">(.*?)</dl>', html, re.S).group(1)
    assert "<dt>setting: omega</dt><dd>5.0</dd>" in common and "<dt>setting: dtype</dt>" not in common
    # what differs is highlighted
    assert re.search(r'<tr class="differs"><th scope="row">setting: dtype</th>', html)
    assert not re.search(r'<tr class="differs"><th scope="row">setting: omega</th>', html)


def test_a_finding_present_in_one_run_is_absent_in_the_other(two_runs):
    wide, narrow = two_runs
    runs = runs_from([wide, narrow])
    tables = Tables(render_runs(runs)).tables
    rows = {tuple(c["text"] for c in row[:3]): row[3:] for row in tables["presence"][1:]}
    keys = {(f["backend"], f["kind"], f["signature"]) for r in (wide, narrow) for f in r["findings"]}
    assert set(rows) == keys  # one row per (backend, kind, signature) over both runs
    tanh = next(f for f in wide["findings"] if f["backend"] == "bad-tanh" and "tanh" in f["signature"])
    first, second = rows[(tanh["backend"], tanh["kind"], tanh["signature"])]
    assert first["text"].startswith("≈ known" if tanh["known"] else "✗ unexpected") and tanh["id"] in first["text"]
    assert first["href"] == f"#run1-{tanh['id']}"
    assert second["text"] == "absent" and second["href"] is None
    html = render_runs(runs)
    assert f'id="run1-{tanh["id"]}"' in html  # the link lands on the first run's finding
    for f in narrow["findings"]:  # and the second run's own findings are reachable too
        assert f'id="run2-{f["id"]}"' in html


def test_the_matrix_has_a_row_per_run_and_marks_what_changed(two_runs):
    wide, narrow = two_runs
    m = run_matrix(runs_from([wide, narrow]))
    # a group per backend and mode: forward mode's rows after reverse mode's, then second order's (bad-tanh, a planted
    # reverse-mode mutant, has no second order: tests/helpers.Mutant)
    assert [g["backend"] for g in m["groups"]] == ["numpy-ref", "bad-tanh", "numpy-ref (jvp)", "bad-tanh (jvp)",
                                                   "numpy-ref (hvp)"]
    planted = next(g for g in m["groups"] if g["backend"] == "bad-tanh")
    assert [r["run"].label for r in planted["rows"]] == ["float64", "float32"]
    cell = [{(c["family"], c["property"]): c for c in r["cells"]} for r in planted["rows"]]
    elementwise = [c[("elementwise", "value")] for c in cell]
    assert elementwise[0]["status"] in ("finding", "known") and elementwise[1]["status"] == "pass"
    assert elementwise[0]["differs"] and elementwise[1]["differs"] and planted["differs"]
    linalg = [c[("linalg", "value")] for c in cell]
    assert linalg[0]["status"] == linalg[1]["status"] and not linalg[0]["differs"]


def test_a_backend_missing_from_a_run_is_not_run_there_not_absent(two_runs):
    wide, narrow = two_runs
    alone = copy.deepcopy(narrow)
    alone["backends"] = [b for b in alone["backends"] if b["name"] == "numpy-ref"]
    alone["settings"]["backends"] = ["numpy-ref"]
    alone["findings"] = [f for f in alone["findings"] if f["backend"] == "numpy-ref"]
    runs = runs_from([wide, alone])
    assert runs[1].label == "numpy-ref · float32"  # the backends differ: the label says so
    m = run_matrix(runs)
    planted = next(g for g in m["groups"] if g["backend"] == "bad-tanh")
    assert {c["status"] for c in planted["rows"][1]["cells"]} == {"not-run"}
    assert not any(c["differs"] for c in planted["rows"][1]["cells"])
    rows = Tables(render_runs(runs)).tables["presence"][1:]
    planted_rows = [row for row in rows if row[0]["text"] == "bad-tanh"]
    assert planted_rows and all(row[4]["text"] == "not in run" for row in planted_rows)
    header = {row[0]: row[1:] for row in texts(Tables(render_runs(runs)).tables["runs"])}
    assert header["backend: bad-tanh"][1] == "not in this run"


def test_labels_name_what_differs():
    base = {"settings": {"seed": 0, "dtype": "float64", "special": False, "backends": ["jax"]},
            "environment": {"python": "3.11.7", "platform": "Linux-6.1-x86_64-with-glibc2.36"},
            "backends": [{"name": "jax", "version": "0.4.30", "error": None}],
            "summary": {"examples": 0, "findings": 0, "unexpected": 0, "known": 0}, "stats": {},
            "findings": []}

    def variant(version="0.4.30", **settings):
        r = copy.deepcopy(base)
        r["settings"].update(settings)
        r["backends"][0]["version"] = version
        return r

    def labels(*results, sources=None):
        return [r.label for r in runs_from(list(results), sources=sources)]

    # the CI-matrix axes (a library's version, the dtype) are named whenever they differ
    assert labels(variant(), variant("0.5.0", dtype="float32")) == ["jax 0.4.30 · float64", "jax 0.5.0 · float32"]
    # the others only while they tell runs apart
    assert labels(variant(seed=1), variant(seed=2, special=True)) == ["regular points", "special points"]
    assert labels(variant(seed=1, special=0.0), variant(seed=2, special=0.25)) == ["regular points",
                                                                                  "25% special points"]
    assert labels(variant(seed=1), variant(seed=2)) == ["seed 1", "seed 2"]
    mac = variant()
    mac["environment"]["platform"] = "macOS-14.4-arm64-arm-64bit"
    assert labels(variant(), mac) == ["Linux x86_64", "macOS arm64"]
    # nothing differs: the folders of the results files, or the position
    assert labels(variant(), variant(), sources=["ci/a/results.json", "ci/b/results.json"]) == ["a", "b"]
    assert labels(variant(), variant(), sources=["results.json", "results.json"]) == ["run 1", "run 2"]
    # given labels win; they must be as many as the runs, non-empty and distinct
    assert [r.label for r in runs_from([variant(), variant()], labels=["old", "new"])] == ["old", "new"]
    for given, message in [(["one"], "1 label for 2 runs"), (["x", "x"], "'x' given twice"),
                           (["x", " "], "a run label is empty")]:
        with pytest.raises(ValueError, match=message):
            runs_from([variant(), variant()], labels=given)


def test_compare_keeps_the_order_and_marks_entries_a_run_lacks(two_runs):
    wide, narrow = copy.deepcopy(two_runs)
    wide["environment"].pop("torch", None)  # present when an earlier test of this process imported torch
    extra = copy.deepcopy(narrow)
    extra["environment"]["torch"] = "2.13.0"
    cmp = compare(runs_from([wide, extra]))
    differ = {d["key"]: d["cells"] for d in cmp["differ"]}
    assert differ["environment: torch"] == [None, "2.13.0"]
    sections = [d["key"].split(":")[0] for d in cmp["differ"] + cmp["common"]]
    order = {"setting": 0, "backend": 1, "environment": 2}
    assert [order[s] for s in sections[:len(cmp["differ"])]] == sorted(order[s] for s in sections[:len(cmp["differ"])])
    assert "setting: omega" in {c["key"] for c in cmp["common"]}


def test_not_a_shard_merge(two_runs):
    """The merge of ``--workers`` sums the parts and keeps the first one's settings; the page keeps both."""
    wide, narrow = two_runs
    merged = merge_results([wide, narrow])
    assert merged["settings"]["dtype"] == "float64"  # the second run's float32 is gone from a merge
    header = {row[0]: row[1:] for row in texts(Tables(render_runs(runs_from([wide, narrow]))).tables["runs"])}
    assert header["setting: dtype"] == ["float64", "float32"]


def test_markup_in_labels_and_environment_is_escaped(two_runs):
    wide, narrow = two_runs
    hostile = copy.deepcopy(narrow)
    hostile["environment"]["platform"] = XSS_IMG
    hostile["backends"][1]["error"] = XSS_IMG
    html = render_runs(runs_from([wide, hostile], labels=[XSS_TITLE, "plain"]))
    assert XSS_TITLE not in html and XSS_IMG not in html
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;" in html and "&lt;img src=x onerror=" in html
    page = parse_tags(html)
    assert "script" not in page.tags and "img" not in page.tags and "script-src 'none'" in html
    assert not any(a.startswith("on") for a in page.attrs)


def test_one_run_is_not_a_page_of_runs(two_runs):
    with pytest.raises(ValueError, match="at least two"):
        render_runs(runs_from([two_runs[0]]))


def test_write_runs_writes_each_runs_own_page_and_links_it(two_runs, tmp_path):
    page = write_runs(runs_from(list(two_runs)), tmp_path / "out" / "matrix.html")
    html = page.read_text()
    singles = sorted((tmp_path / "out" / "matrix-pages").glob("*.html"))
    assert [p.name for p in singles] == ["run1.html", "run2.html"]
    for p, results in zip(singles, two_runs):
        assert f'href="matrix-pages/{p.name}"' in html
        assert p.read_text() == render_report(results)  # the single-run page, unchanged


# ---------------------------------------------------------------------- the command


def parse(argv):
    parser = argparse.ArgumentParser(prog="advalidate")
    add_parser(parser.add_subparsers())
    return parser.parse_args(["report", *argv])


def test_report_cli_with_several_runs(two_runs, tmp_path, monkeypatch, capsys):
    wide, narrow = two_runs
    write_json(tmp_path / "f64" / "results.json", wide)
    write_json(tmp_path / "f32" / "results.json", narrow)
    monkeypatch.chdir(tmp_path)
    # the default page of several runs: reports/runs.html in the current directory
    args = parse(["f64/results.json", "f32/results.json"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "report: reports/runs.html\n"
    html = (tmp_path / "reports" / "runs.html").read_text()
    assert Tables(html).tables["runs"][0][1]["text"] == "float64"
    assert sorted(p.name for p in (tmp_path / "reports" / "runs-pages").iterdir()) == ["run1.html", "run2.html"]
    assert "advalidate replay f64/results.json --id" in html or not wide["findings"]
    # labels given; the same file twice is fine
    args = parse(["f64/results.json", "f64/results.json", "--label", "before", "--label", "after", "-o", "x.html"])
    assert args.func(args) == 0
    header = Tables((tmp_path / "x.html").read_text()).tables["runs"][0]
    assert [c["text"] for c in header[1:]] == ["before", "after"]


def test_report_cli_with_one_run_is_the_single_run_page(two_runs, tmp_path):
    write_json(tmp_path / "results.json", two_runs[0])
    args = parse([str(tmp_path / "results.json")])
    assert args.func(args) == 0
    assert (tmp_path / "index.html").read_text() == render_report(json.loads((tmp_path / "results.json").read_text()))
    assert not (tmp_path / "reports").exists()


def test_report_cli_errors_name_the_file(two_runs, tmp_path, capsys):
    good = tmp_path / "good.json"
    write_json(good, two_runs[0])
    (tmp_path / "bad.json").write_text("{not json")
    write_json(tmp_path / "broken.json", dict(two_runs[1], summary={"examples": -1}))
    (tmp_path / "folder.json").mkdir()
    out = str(tmp_path / "runs.html")
    capsys.readouterr()
    for argv, message in [
        ([good, tmp_path / "missing.json"], f"no results file at {tmp_path / 'missing.json'}"),
        ([good, tmp_path / "bad.json"], f"{tmp_path / 'bad.json'} is not valid JSON"),
        ([tmp_path / "broken.json", good], f"{tmp_path / 'broken.json'} does not follow the results schema at summary"),
        ([good, tmp_path / "folder.json"], f"{tmp_path / 'folder.json'}: Is a directory"),
        ([good, good, "--label", "one"], "1 --label for 2 results files"),
        ([good, good, "--label", "x", "--label", "x"], "'x' given twice"),
        ([good, "--label", "x"], "--label names the runs of a page of several results files"),
    ]:
        args = parse([str(a) for a in argv] + ["-o", out])
        assert args.func(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("advalidate report: ") and message in err, err
    assert not (tmp_path / "runs.html").exists()


# ---------------------------------------------------------------------- in a browser


def test_the_page_of_runs_renders_in_chromium(two_runs, tmp_path):
    from .test_report_browser import CHROMIUM, DOM, chromium, dump_dom

    if CHROMIUM is None:
        pytest.skip("headless Chromium not found at /usr/bin/chromium")
    page = write_runs(runs_from(list(two_runs)), tmp_path / "runs.html", pages=False)
    out, console = dump_dom(tmp_path, page)
    assert console == [], "\n".join(console)
    dom = DOM(out)
    assert dom.title.startswith("advalidate conformance report, 2 runs")
    assert dom.count.get("table.matrix") == 1 and dom.count.get("table.presence") == int(bool(
        two_runs[0]["findings"] or two_runs[1]["findings"]))
    assert dom.count.get("article.finding", 0) == len(two_runs[0]["findings"]) + len(two_runs[1]["findings"])
    assert dom.count.get("section.run") == 2 and dom.count.get("script", 0) == 0
    shot = tmp_path / "runs.png"
    _, console = chromium(tmp_path, page.resolve().as_uri(), f"--screenshot={shot}", "--window-size=1300,2200",
                          "--hide-scrollbars")
    assert console == [] and shot.stat().st_size > 10_000
