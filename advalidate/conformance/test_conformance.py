"""The conformance suite for a backend: it loads, and its VJPs agree with the oracle within the error model."""

from pathlib import Path

import pytest

from advalidate.testing import format_findings


@pytest.fixture(scope="session")
def advalidate_campaign(request):
    """One campaign over every selected backend (as ``advalidate run`` with the same settings)."""
    from advalidate.campaign import Campaign, Settings
    from advalidate.cli_run import load_backends
    from advalidate.results import write_json

    opt = request.config.getoption
    backends, errors = load_backends(opt("advalidate_backend"))
    dtype = opt("advalidate_dtype")
    settings = Settings(max_examples=opt("advalidate_max_examples"), seed=opt("advalidate_seed"), dtype=dtype,
                        special=opt("advalidate_special"), known_dir=opt("advalidate_known_dir"),
                        out=opt("advalidate_out") or "reports")
    results = Campaign([b for b in backends if dtype in b.dtypes], settings, load_errors=errors).run()
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
