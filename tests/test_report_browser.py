"""The HTML report in a real browser (headless Chromium): it renders with no console message, the page's
own script runs, planted markup in backend names, primitive names and exception messages never executes."""

import copy
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import pytest

from advalidate.backends.numpy_ref import NumpyReference
from advalidate.report import write_report

from .report_data import XSS_IMG, XSS_TITLE, hostile_backends, many_findings, measured_cost, run

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and Path(p).exists()), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not found at /usr/bin/chromium "
                                    "(Debian: apt-get install chromium; .ci/run installs it)")
SCREENSHOT = Path("/tmp/report-screenshot.png")


def chromium(tmp_path, url, *args, timeout=60):
    """Run headless Chromium on ``url``: (stdout, console lines from its log)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
           "--enable-logging=stderr", "--v=0", *args, url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def dump_dom(tmp_path, path, fragment=""):
    return chromium(tmp_path, path.resolve().as_uri() + fragment, "--dump-dom")


class DOM(HTMLParser):
    """What the tests read from the dumped DOM: the root's data attributes, the title, elements by tag and
    class, and which finding cards are hidden."""

    def __init__(self, text):
        super().__init__()
        self.root, self.title, self.count, self.hidden, self.shown = {}, "", {}, [], []
        self._in_title = self._in_body = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.root = attrs
        self._in_body = self._in_body or tag == "body"
        self._in_title = tag == "title" and not self._in_body  # the document's title, not an SVG's
        for key in [tag] + [f"{tag}.{c}" for c in (attrs.get("class") or "").split()]:
            self.count[key] = self.count.get(key, 0) + 1
        if tag == "article" and "finding" in (attrs.get("class") or ""):
            (self.hidden if "hidden" in attrs else self.shown).append(attrs.get("data-kind"))

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        self._in_title = False


@pytest.fixture(scope="module")
def real_run():
    results = run(hostile_backends(), n=80)
    results["cost"] = measured_cost()
    return results


@needs_chromium
def test_the_report_of_a_real_run_renders_in_chromium(real_run, tmp_path):
    page = write_report(real_run, tmp_path / "index.html")
    out, console = dump_dom(tmp_path, page)
    assert console == [], "\n".join(console)
    dom = DOM(out)
    assert dom.root.get("data-js") == "ready"  # the page's own script ran (the CSP allowed it by hash)
    assert dom.count.get("table.matrix") == 1
    assert dom.count.get("svg", 0) >= 3
    assert dom.count.get("article.finding") == len(real_run["findings"]) >= 3
    assert "form" in dom.count and "PWNED" not in dom.title and "data-pwned" not in dom.root

    wide = tmp_path / "report-1280.png"
    narrow = tmp_path / "report-390.png"
    for shot, size in [(wide, "1280,2000"), (narrow, "390,1600")]:
        _, console = chromium(tmp_path, page.resolve().as_uri(), f"--screenshot={shot}", f"--window-size={size}",
                              "--hide-scrollbars")
        assert console == [] and shot.stat().st_size > 10_000
    shutil.copy(wide, SCREENSHOT)
    shutil.copy(narrow, SCREENSHOT.with_name("report-screenshot-390.png"))


@needs_chromium
def test_the_filters_follow_the_address_fragment(real_run, tmp_path):
    page = write_report(real_run, tmp_path / "index.html")
    out, console = dump_dom(tmp_path, page, "#kind=wrong-value")
    assert console == []
    dom = DOM(out)
    assert dom.shown == ["wrong-value"] and len(dom.hidden) == len(real_run["findings"]) - 1
    # a backend named with markup round-trips through the escaped attribute and option values
    hostile = next(f for f in real_run["findings"] if XSS_TITLE in f["backend"])
    out, console = dump_dom(tmp_path, page, "#" + urlencode({"backend": hostile["backend"]}))
    assert console == [] and DOM(out).shown == [hostile["kind"]]


@needs_chromium
def test_the_mode_filter_shows_one_mode_of_ad(real_run, tmp_path):
    results = copy.deepcopy(real_run)
    for i, f in enumerate(results["findings"]):
        f["mode"] = "jvp" if i == 0 else "vjp"
    page = write_report(results, tmp_path / "index.html")
    out, console = dump_dom(tmp_path, page, "#mode=jvp")
    assert console == []
    dom = DOM(out)
    assert dom.shown == [results["findings"][0]["kind"]] and len(dom.hidden) == len(results["findings"]) - 1


def _plant_primitive(results, name):
    """``results`` with the primitive ``tanh`` renamed to ``name`` wherever a primitive name appears."""
    results = copy.deepcopy(results)
    for row in results["stats"]["primitives"]:
        row["primitive"] = row["primitive"].replace("tanh", name)
    for f in results["findings"]:
        f["signature"] = f["signature"].replace("tanh", name)
        f["source"] = f["source"].replace("tanh", name)
        for node in f["function"]["nodes"]:
            node["prim"] = node["prim"].replace("tanh", name)
    for b in results["backends"]:
        b["supported"] = [p.replace("tanh", name) for p in b["supported"]]
        b["unsupported"] = [name]
    return results


@needs_chromium
def test_planted_markup_never_executes(real_run, tmp_path):
    """Payloads in a backend's name (a script), an exception message (an image with onerror) and a primitive
    name (both): neither with the page's CSP nor without it does any of them run."""
    results = _plant_primitive(real_run, f"tanh{XSS_TITLE}{XSS_IMG}")
    names = [f["backend"] for f in results["findings"]]
    assert any(XSS_TITLE in n for n in names) and any(XSS_IMG in f["message"] for f in results["findings"])
    page = write_report(results, tmp_path / "index.html")
    html = page.read_text()
    no_csp = tmp_path / "no-csp.html"
    no_csp.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html))
    for path in (page, no_csp):
        out, console = dump_dom(tmp_path, path)
        assert console == [], "\n".join(console)
        dom = DOM(out)
        assert dom.title.startswith("advalidate conformance report") and "PWNED" not in dom.title
        assert "data-pwned" not in dom.root and dom.count.get("img", 0) == 0
        assert dom.count["script"] == 1 and dom.root.get("data-js") == "ready"
        assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in out  # shown as text

    # the check can fail: the same payloads left unescaped do run in this browser
    control = tmp_path / "control.html"
    control.write_text(no_csp.read_text().replace("&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;",
                                                  XSS_TITLE, 1))
    out, console = dump_dom(tmp_path, control)
    assert DOM(out).title == "PWNED"


@needs_chromium
def test_reports_without_findings_and_with_many_render(real_run, tmp_path):
    clean = run([NumpyReference()], n=30)
    crowded = many_findings(real_run, 60)
    for name, results, cards in [("clean", clean, 0), ("crowded", crowded, 60)]:
        page = write_report(results, tmp_path / f"{name}.html")
        out, console = dump_dom(tmp_path, page)
        assert console == [], f"{name}: " + "\n".join(console)
        dom = DOM(out)
        assert dom.count.get("article.finding", 0) == cards and dom.count.get("table.matrix") == 1
        assert dom.root.get("data-js") == "ready"
    assert (tmp_path / "crowded.html").stat().st_size < 2_000_000
