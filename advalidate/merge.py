"""Merge the results of campaign shards (the parallel workers of one run) into one results.json.

Findings are kept in shard order and deduplicated by the campaign's own rule (:class:`advalidate.findings.
FindingSet`); statistics are summed (:meth:`advalidate.stats.Stats.merge`); a known behaviour is unmatched only if
no shard matched it. This is for the shards of ONE run (budgets add up, the first part's settings stand); several
runs with their own settings are shown side by side by ``advalidate report A.json B.json`` instead.
"""

from __future__ import annotations

from .findings import MAX_PER_KIND, FindingSet
from .results import build
from .stats import Stats

__all__ = ["merge_results"]


def merge_results(parts: list[dict], max_per_kind: int = MAX_PER_KIND, wall_seconds: float | None = None) -> dict:
    if not parts:
        raise ValueError("no shard results to merge")
    base = parts[0]
    kept = FindingSet(max_per_kind)
    for part in parts:
        for f in part["findings"]:
            kept.add(f)
    unmatched = [e for e in base["known_unmatched"]
                 if all(any(e == o for o in p["known_unmatched"]) for p in parts[1:])]
    settings = dict(base["settings"], max_examples=sum(p["settings"]["max_examples"] for p in parts),
                    workers=len(parts))
    capped = sorted({tuple(c) for p in parts for c in p["summary"].get("capped", [])})
    progress = {"rounds": sum(p["progress"]["rounds"] for p in parts), "resumes": 0,
                "seen": [list(s) for s in sorted({tuple(s) for p in parts for s in p["progress"]["seen"]})],
                # which shard checked how many examples depends on timing (they share one budget)
                "shards": [{"seed": p["settings"]["seed"], "examples": p["summary"]["examples"],
                            "findings": len(p["findings"]), "duration_s": p["duration_s"]} for p in parts]}
    return build(settings=settings, backends=base["backends"],
                 stats=Stats.merge(Stats.from_results(p) for p in parts), findings=kept.records,
                 capped=[list(c) for c in capped], known_unmatched=unmatched,
                 cost=next((p["cost"] for p in parts if p.get("cost")), None), progress=progress,
                 duration_s=wall_seconds if wall_seconds is not None else max(p["duration_s"] for p in parts),
                 complete=all(p["complete"] for p in parts), environment_=base["environment"],
                 created=base["created"])
