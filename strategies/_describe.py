"""A strategy wrapper whose repr is a readable call (Hypothesis' convention: the repr reproduces the call)."""

from __future__ import annotations

from hypothesis.strategies import SearchStrategy


class Described(SearchStrategy):
    """Draws from ``inner``; prints as ``text``."""

    def __init__(self, inner: SearchStrategy, text: str):
        super().__init__()
        self.inner = inner
        self.text = text

    def do_draw(self, data):
        return data.draw(self.inner)

    def __repr__(self):
        return self.text


def call_repr(name: str, defaults: dict, values: dict) -> str:
    """``name(k=v, ...)`` listing only the arguments that differ from their defaults."""
    parts = [f"{k}={values[k]!r}" for k in defaults if values[k] != defaults[k]]
    return f"{name}({', '.join(parts)})"


def function_label(fn) -> str:
    """A one-line description of a Function (its full repr is multi-line source)."""
    shapes = ", ".join(str(s) for s in fn.inputs)
    return f"<Function {fn.hash}: inputs {shapes}; {len(fn.nodes)} nodes: {'+'.join(fn.primitives_used)}>"
