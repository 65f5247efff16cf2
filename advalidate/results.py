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

__all__ = ["SCHEMA", "encode_array", "decode_array", "write_json", "load", "validate", "schema"]

SCHEMA = "advalidate.results/1"


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
        raise ValueError(f"{path}: schema {data.get('schema') if isinstance(data, dict) else None!r} is not {SCHEMA!r}")
    return data


def schema() -> dict:
    return json.loads(resources.files("advalidate").joinpath("schema/results.schema.json").read_text())


def validate(data: dict) -> None:
    """Raise jsonschema.ValidationError when ``data`` does not follow the schema."""
    import jsonschema

    jsonschema.validate(data, schema())
