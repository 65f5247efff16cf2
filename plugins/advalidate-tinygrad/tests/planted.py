"""A tinygrad backend with a planted bug, for the plug-in's own test: its VJP is tinygrad's times 1.001, on four
primitives (the others left out, so that a campaign's probes are few)."""

from advalidate.plugin import VJP

from advalidate_tinygrad import TinygradBackend
from advalidate_tinygrad.dialect import OPS

KEPT = ("sin", "mul", "add", "sum")


class PlantedTinygrad(TinygradBackend):
    name = "tinygrad-planted"
    unsupported = {name: "left out of the planted test" for name in OPS if name not in KEPT}
    work = None  # the planted VJP is not the code work() would count

    def vjp(self, function, inputs, cotangents):
        got = super().vjp(function, inputs, cotangents)
        return VJP(got.outputs, [g * g.dtype.type(1.001) for g in got.grads])
