"""The campaign as N shard tests, for pytest-xdist: ``pytest -n N --pyargs advalidate.conformance.test_shards
--advalidate-shards N --advalidate-out DIR`` (this is what ``advalidate run --workers N`` runs).

Shard k draws from its own seed and checks its share of the budget; each writes DIR/shards/shard-k.json, and the
plugin merges them into DIR/results.json and DIR/index.html when the session ends.
"""

from pathlib import Path

from advalidate.testing import format_findings


def test_campaign_shard(advalidate_shard, request):
    from advalidate.campaign import Campaign, Settings
    from advalidate.cli_run import load_backends
    from advalidate.results import write_json

    opt = request.config.getoption
    shards = max(opt("advalidate_shards"), 1)
    total = opt("advalidate_max_examples")
    share = total // shards + (advalidate_shard < total % shards)
    backends, errors = load_backends(opt("advalidate_backend"))
    dtype = opt("advalidate_dtype")
    out = Path(opt("advalidate_out") or "reports")
    settings = Settings(max_examples=share, seed=opt("advalidate_seed") + 1_000_003 * advalidate_shard, dtype=dtype,
                        special=opt("advalidate_special"), known_dir=opt("advalidate_known_dir"), out=str(out),
                        database=opt("advalidate_database"), measure_work=not opt("advalidate_no_cost"))
    path = out / "shards" / f"shard-{advalidate_shard}.json"
    campaign = Campaign([b for b in backends if dtype in b.dtypes], settings, load_errors=errors,
                        checkpoint=lambda results: write_json(path, results))
    results = campaign.run()
    write_json(path, results)
    unexpected = [f for f in results["findings"] if not f["known"]]
    assert not unexpected, format_findings(unexpected)
