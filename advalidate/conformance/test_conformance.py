"""The conformance suite for a backend: it loads, and its VJPs agree with the oracle within the error model."""

from pathlib import Path

import pytest

from advalidate.testing import format_findings


@pytest.fixture(scope="session")
def advalidate_campaign(request):
    """One campaign over every selected backend (as ``advalidate run`` with the same settings)."""
    from advalidate.pytest_plugin import configured_campaign
    from advalidate.results import write_json

    opt = request.config.getoption
    results = configured_campaign(request.config).run()
    if opt("advalidate_out"):
        out = Path(opt("advalidate_out"))
        write_json(out / "results.json", results)
        try:
            from advalidate.report import write_report
        except ImportError:
            pass
        else:
            write_report(results, out / "index.html")
    return results


def test_backend_loads(advalidate_campaign, advalidate_backend_name):
    entry = next(b for b in advalidate_campaign["backends"] if b["name"] == advalidate_backend_name)
    assert entry["error"] is None, f"{advalidate_backend_name} did not load: {entry['error']}"


def test_vjps_agree_with_the_oracle(advalidate_campaign, advalidate_backend_name):
    findings = [f for f in advalidate_campaign["findings"]
                if f["backend"] == advalidate_backend_name and not f["known"]]
    assert not findings, format_findings(findings)
