"""Merge the results of campaign shards (parallel workers, or several machines) into one results.json.

Findings are kept in shard order and deduplicated with the campaign's own rule (a finding whose primitives
include those of one already kept for the same backend and kind adds nothing; at most ``max_per_kind`` per
backend and kind); statistics are summed; a known behaviour is unmatched only if no shard matched it.
"""

from __future__ import annotations

from collections import Counter

__all__ = ["merge_results"]


def _add_counts(rows, key_fields, into):
    for row in rows:
        key = tuple(row[k] for k in key_fields)
        into.setdefault(key, Counter()).update(row["counts"])


def merge_results(parts: list[dict], max_per_kind: int = 6, wall_seconds: float | None = None) -> dict:
    if not parts:
        raise ValueError("no shard results to merge")
    base = dict(parts[0])
    findings, kept = [], []
    for part in parts:
        for f in part["findings"]:
            prims = set(f["signature"].split("+"))
            same = [k for k in kept if k[:2] == (f["backend"], f["kind"])]
            if len(same) >= max_per_kind or any(set(k[2].split("+")) <= prims for k in same):
                continue
            kept.append((f["backend"], f["kind"], f["signature"]))
            f = dict(f, id=f"F{len(findings) + 1:03d}")
            f["replay"] = f["replay"].rsplit("--id", 1)[0] + f"--id {f['id']}"
            findings.append(f)
    stats = {"backends": {}, "cells": {}, "primitives": {}, "conventions": {}, "error_ratios": {}, "cost_ratios": {},
             "seconds": Counter()}
    points, examples = Counter(), 0
    for part in parts:
        s = part["stats"]
        examples += part["summary"]["examples"]
        points.update(part["summary"].get("points", {}))
        for name, counts in s["backends"].items():
            stats["backends"].setdefault(name, Counter()).update(counts)
        _add_counts(s["cells"], ("backend", "family", "property"), stats["cells"])
        _add_counts(s["primitives"], ("backend", "primitive"), stats["primitives"])
        for name, counts in s.get("conventions", {}).items():
            stats["conventions"].setdefault(name, Counter()).update(counts)
        for name, ratios in s["error_ratios"].items():
            stats["error_ratios"].setdefault(name, []).extend(ratios)
        for name, pairs in s["cost_ratios"].items():
            stats["cost_ratios"].setdefault(name, []).extend(pairs)
        stats["seconds"].update(s.get("seconds", {}))
    unmatched = [e for e in parts[0]["known_unmatched"]
                 if all(any(e == o for o in p["known_unmatched"]) for p in parts[1:])]
    unexpected = sum(not f["known"] for f in findings)
    settings = dict(base["settings"], max_examples=sum(p["settings"]["max_examples"] for p in parts),
                    workers=len(parts))
    return {
        **base,
        "duration_s": round(wall_seconds if wall_seconds is not None else max(p["duration_s"] for p in parts), 3),
        "complete": all(p["complete"] for p in parts),
        "settings": settings,
        "summary": {"examples": examples, "findings": len(findings), "unexpected": unexpected,
                    "known": len(findings) - unexpected, "points": dict(points),
                    "capped": [list(c) for c in sorted({tuple(c) for p in parts for c in p["summary"].get("capped", [])})]},
        "stats": {
            "backends": {k: dict(v) for k, v in stats["backends"].items()},
            "cells": [{"backend": b, "family": f, "property": p, "counts": dict(c)}
                      for (b, f, p), c in sorted(stats["cells"].items())],
            "primitives": [{"backend": b, "primitive": p, "counts": dict(c)}
                           for (b, p), c in sorted(stats["primitives"].items())],
            "conventions": {k: dict(v) for k, v in stats["conventions"].items()},
            "error_ratios": stats["error_ratios"],
            "cost_ratios": stats["cost_ratios"],
            "seconds": {k: round(v, 3) for k, v in stats["seconds"].items()},
        },
        "findings": findings,
        "known_unmatched": unmatched,
        "cost": next((p["cost"] for p in parts if p.get("cost")), None),
        "progress": {"rounds": sum(p["progress"]["rounds"] for p in parts), "resumes": 0,
                     "seen": [list(s) for s in sorted({tuple(s) for p in parts for s in p["progress"]["seen"]})],
                     # which shard checked how many examples depends on timing (they share one budget)
                     "shards": [{"seed": p["settings"]["seed"], "examples": p["summary"]["examples"],
                                 "findings": len(p["findings"]), "duration_s": p["duration_s"]} for p in parts]},
    }
