"""results.json: the campaign's data, with a versioned schema (``schema/results.schema.json``).

Arrays are nested lists of floats; NaN and infinities, which JSON lacks, are the strings "nan", "inf", "-inf".
Writes are atomic (a temporary file renamed over the target), so a reader never sees half a file.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["SCHEMA", "encode_array", "decode_array", "write_json", "load", "validate", "schema", "build",
           "environment"]

SCHEMA = "advalidate.results/2"  # 2: the replayed known behaviours ("known") replace "known_unmatched"


def _num(x: float):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def encode_array(a) -> object:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return _num(a)
    return [encode_array(row) for row in a] if a.ndim > 1 else [_num(v) for v in a]


def decode_array(data, dtype="float64") -> np.ndarray:
    def conv(x):
        return [conv(v) for v in x] if isinstance(x, list) else float(x)

    return np.array(conv(data), dtype=dtype)


def write_json(path, data) -> None:
    """Write ``data`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path) -> dict:
    """Read a results.json, refusing another schema with a clear message."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no results file at {path}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else None
        older = " (written by an older advalidate: run the campaign again)" if found == "advalidate.results/1" else ""
        raise ValueError(f"{path}: schema {found!r} is not {SCHEMA!r}{older}")
    return data


def schema() -> dict:
    return json.loads(resources.files("advalidate").joinpath("schema/results.schema.json").read_text())


def validate(data: dict) -> None:
    """Raise jsonschema.ValidationError when ``data`` does not follow the schema."""
    import jsonschema

    jsonschema.validate(data, schema())


def build(*, settings: dict, backends: list, stats, findings: list, capped: list, known: list,
          cost, progress: dict, duration_s: float, complete: bool, environment_: dict | None = None,
          created: str | None = None) -> dict:
    """A results.json document: the one place its top-level layout is written.

    ``stats`` is an :class:`advalidate.stats.Stats`; ``findings`` the kept finding records; ``settings`` the
    campaign's settings as recorded; ``backends`` one entry per selected backend (loaded or not).
    """
    import datetime as _dt

    from .coverage import unexercised

    unexpected = sum(not f["known"] for f in findings)
    doc = {
        "schema": SCHEMA,
        "created": created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "duration_s": round(duration_s, 3),
        "complete": bool(complete),
        "settings": settings,
        "environment": environment_ if environment_ is not None else environment(),
        "backends": backends,
        "summary": {"examples": stats.examples, "probes": stats.probes, "findings": len(findings),
                    "unexpected": unexpected, "known": len(findings) - unexpected, "points": dict(stats.points),
                    "capped": capped},
        "stats": stats.to_json(),
        "findings": list(findings),
        "known": list(known),
        "cost": cost,
        "progress": progress,
    }
    doc["summary"]["unexercised"] = unexercised(doc)  # the primitives no example exercised, per backend
    return doc


def environment() -> dict:
    """Versions of what a run depends on (the AD libraries among them once imported)."""
    import platform
    import sys

    import hypothesis
    import mpmath

    from . import __version__

    env = {"python": sys.version.split()[0], "platform": platform.platform(), "advalidate": __version__,
           "numpy": np.__version__, "mpmath": mpmath.__version__, "mpmath_backend": mpmath.libmp.BACKEND,
           "hypothesis": hypothesis.__version__}
    for mod in ("jax", "torch", "autograd"):
        module = sys.modules.get(mod)
        if module is not None:
            env[mod] = getattr(module, "__version__", "?")
    from .extend import ops  # users' ops checked beside the catalogue (advalidate.extend)

    if ops():
        env["extensions"] = ", ".join(f"{name} ({op.module})" for name, op in ops().items())
    return env
