"""The campaign as N shard tests, for pytest-xdist: ``pytest -n N --pyargs advalidate.conformance.test_shards
--advalidate-shards N --advalidate-out DIR`` (this is what ``advalidate run --workers N`` runs).

Shard k draws from its own seed and checks its share of the budget; each writes DIR/shards/shard-k.json, and the
plugin merges them into DIR/results.json and DIR/index.html when the session ends.
"""

from pathlib import Path

from advalidate.testing import format_findings


def test_campaign_shard(advalidate_shard, request):
    from advalidate.pytest_plugin import configured_campaign
    from advalidate.results import write_json

    opt = request.config.getoption
    shards = max(opt("advalidate_shards"), 1)
    path = Path(opt("advalidate_out") or "reports") / "shards" / f"shard-{advalidate_shard}.json"
    campaign = configured_campaign(request.config, advalidate_shard, shards,
                                   checkpoint=lambda results: write_json(path, results))
    results = campaign.run()
    write_json(path, results)
    unexpected = [f for f in results["findings"] if not f["known"]]
    assert not unexpected, format_findings(unexpected)
