"""The report's plots: small inline SVGs drawn with matplotlib from the numbers in results.json.

Every function returns ``(svg, None)`` or ``(None, why)``: a plot whose data is missing is never faked, the
report prints ``why`` instead. Text in the SVG (backend and primitive names are data) is escaped by
matplotlib's SVG writer; ``$`` is escaped here so that a name cannot switch on mathtext.
"""

from __future__ import annotations

import io
import math
import re

__all__ = ["error_ratios", "m_sweep", "cost_vs_m", "seed_chain", "coverage", "STATUS_COLOURS"]

STATUS_COLOURS = {"pass": "#2e7d32", "finding": "#c62828", "unsupported": "#9e9e9e", "skipped": "#cfd8dc"}
_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]
_RC = {"svg.fonttype": "none", "svg.hashsalt": "advalidate", "font.size": 10, "axes.titlesize": 10,
       "axes.spines.top": False, "axes.spines.right": False, "legend.fontsize": 8, "legend.frameon": False}


def _label(text, limit=36) -> str:
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def _legend(ax):
    """Below the axes, so that the figure stays narrow enough for a phone."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, handlelength=2.2)


def _ticks_at(ax, values):
    """Label a log axis at the sampled values themselves (a handful of sizes reads better than 2×10¹)."""
    values = sorted(set(values))
    if len(values) <= 8:
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.minorticks_off()


def _num(x) -> float:
    """A results.json number (NaN and infinities are strings there) as a float."""
    return float(x)


def _svg(fig, name: str) -> str:
    """The figure as an inline <svg> element: no XML prolog, comments or metadata, ids prefixed by ``name``
    (several plots share one HTML document); its natural size in pt, shrunk by CSS on narrow screens."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r'\bid="', f'id="{name}-', svg)
    svg = svg.replace("url(#", f"url(#{name}-").replace('xlink:href="#', f'xlink:href="#{name}-')
    svg = svg.replace("<svg ", f'<svg class="plot" role="img" aria-labelledby="{name}-title" ', 1)
    svg = svg.replace(">", f'><title id="{name}-title">{name.replace("-", " ")}</title>', 1)
    svg = re.sub(r">\s+<", "><", svg)
    if re.search(r"<script|<foreignobject|javascript:", svg, re.I):  # matplotlib escapes text; keep it proven
        raise AssertionError(f"plot {name}: unexpected active content in the SVG")
    return svg


def _figure(width, height, ncols=1, **kw):
    """A figure outside pyplot (no global state, no GUI backend): ``(fig, axes)``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(1, ncols, **kw)


def _rc():
    import matplotlib

    return matplotlib.rc_context(_RC)


def error_ratios(ratios_by_backend: dict):
    """Cumulative distribution of error / tolerance per backend (log x; exact agreement and non-finite
    ratios are pinned to the left and right edges)."""
    series = {b: [_num(r) for r in rs] for b, rs in (ratios_by_backend or {}).items() if rs}
    if not series:
        return None, "No VJP was compared with the oracle (every example was skipped or unsupported), so there are no error ratios to plot."
    finite = [r for rs in series.values() for r in rs if math.isfinite(r) and r > 0]
    lo = max(min(finite, default=1e-3), 1e-12) / 3
    # a finite ratio near the float maximum (2.25e307: autograd's repeat) put the edge at inf, and matplotlib's log
    # locator steps whole decades past a wide axis (an edge at 1e290 already overflowed its tick labels): the right
    # edge stays at most 1e200, the ratios past it pinned there as the non-finite ones are
    hi = min(max(max(finite, default=10.0) * 3, 10.0), 1e200)
    with _rc():
        fig, ax = _figure(5.2, 3.0)
        for i, (backend, rs) in enumerate(series.items()):
            xs = sorted(lo if r <= lo else hi if not math.isfinite(r) or r >= hi else r for r in rs)
            ys = [(k + 1) / len(xs) for k in range(len(xs))]
            ax.step(xs, ys, where="post", color=_PALETTE[i % len(_PALETTE)], lw=1.4,
                    label=f"{_label(backend)} (n={len(xs)})")
        ax.axvline(1.0, color="black", ls="--", lw=1, label="tolerance (ratio 1)")
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("error / tolerance (left edge: exact or tiny; right edge: inf, NaN or huge)")
        ax.set_ylabel("fraction of examples ≤ x")
        _legend(ax)
        return _svg(fig, "plot-error-ratios"), None


def _jacobian_label(method, size: str) -> str:
    """The full-Jacobian line's legend from its sweep's ``jacobian_method``: measured, or derived from the VJP
    (older results say "computed:" for derived; a sweep without the field was always derived)."""
    if str(method or "").startswith("measured"):
        return "full Jacobian, measured"
    return f"full Jacobian, derived as {size}·(f + VJP)"


def m_sweep(cost: dict | None, family: str = "matrix-chain") -> dict:
    """``{backend: [{m, vjp_ratio, jacobian_ratio, jacobian_method}]}`` from the ``outputs`` sweeps of
    :func:`advalidate.cost.scaling.campaign_data` (the ``family`` sweep, else each backend's first)."""
    out = {}
    for backend, sweeps in ((cost or {}).get("outputs") or {}).items():
        chosen = next((s for s in sweeps if s.get("family") == family), sweeps[0] if sweeps else None)
        if chosen:
            method = chosen.get("jacobian_method")
            out[backend] = [{"m": m, "vjp_ratio": r, "jacobian_ratio": j, "jacobian_method": method}
                            for m, r, j in zip(chosen["m"], chosen["ratio"], chosen["jacobian_ratio"]) if m]
    return {b: pts for b, pts in out.items() if pts}


def cost_vs_m(cost: dict | None, cost_ratios: dict | None, omega: float):
    """work(f + VJP) / work(f) against the output size m: the sweep with the ω and full-Jacobian lines when
    the cost sweeps ran, else the campaign's own (m, ratio) samples."""
    sweep = m_sweep(cost)
    omega = float((cost or {}).get("omega", omega))
    with _rc():
        if sweep:
            fig, ax = _figure(5.2, 3.0)
            for i, (backend, pts) in enumerate(sweep.items()):
                colour = _PALETTE[i % len(_PALETTE)]
                vjp = [(p["m"], p["vjp_ratio"]) for p in pts if p["vjp_ratio"] is not None]  # None: work(f) = 0
                if vjp:
                    ax.plot(*zip(*vjp), "o-", color=colour, ms=3, lw=1.4, label=f"{_label(backend)}: VJP")
                jac = [(p["m"], p["jacobian_ratio"]) for p in pts if p.get("jacobian_ratio") is not None]
                if jac:
                    ax.plot(*zip(*jac), "s--", color=colour, ms=3, lw=1, alpha=0.8,
                            label=f"{_label(backend)}: {_jacobian_label(pts[0]['jacobian_method'], 'm')}")
            ax.axhline(omega, color="black", lw=1, label=f"ω = {omega:g}")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            _ticks_at(ax, [p["m"] for pts in sweep.values() for p in pts])
            ax.set_xlabel("output size m")
            ax.set_ylabel("work / work(f)")
            _legend(ax)
            return _svg(fig, "plot-cost-m"), None
        samples = {b: [p for p in pts if p[0] > 0] for b, pts in (cost_ratios or {}).items()}
        samples = {b: pts for b, pts in samples.items() if pts}
        if not samples:
            return None, ("No work was counted in this run (it ran with --no-cost, or no backend counts its work), "
                          "so there is no cost ratio to plot.")
        fig, ax = _figure(5.2, 3.0)
        for i, (backend, pts) in enumerate(samples.items()):
            # a small deterministic horizontal spread so that equal (m, ratio) samples stay visible
            xs = [m * (1 + 0.06 * ((k % 7) - 3) / 3) for k, (m, _) in enumerate(pts)]
            ax.scatter(xs, [r for _, r in pts], s=8, alpha=0.5, color=_PALETTE[i % len(_PALETTE)],
                       label=f"{_label(backend)} (n={len(pts)})", linewidths=0)
        ax.axhline(omega, color="black", lw=1, label=f"ω = {omega:g}")
        ax.set_xscale("log", base=2)
        _ticks_at(ax, [m for pts in samples.values() for m, _ in pts])
        ax.set_ylim(0, max(omega * 1.2, max(r for pts in samples.values() for _, r in pts) * 1.1))
        ax.set_xlabel("output size m (elements)")
        ax.set_ylabel("work(f + VJP) / work(f)")
        _legend(ax)
        return _svg(fig, "plot-cost-m"), None


def seed_chain(cost: dict | None):
    """The seed problem's work against N, log-log: the VJP's O(N) and the full Jacobian's O(N²), the latter
    labelled measured or derived (N × work(f + VJP), whose slope is the VJP's plus one by construction)."""
    chains = {b: {"N": c["N"], "f_work": c.get("forward"), "vjp_work": c.get("vjp"),
                  "jacobian_work": c.get("jacobian"), "vjp_slope": c.get("slope_vjp"),
                  "jacobian_slope": c.get("slope_jacobian"), "jacobian_method": c.get("jacobian_method")}
              for b, c in ((cost or {}).get("seed") or {}).items() if c and c.get("N")}
    if not chains:
        return None, ("The seed's O(N) vs O(N²) sweep is not in this results.json (the cost sweeps did not run: "
                      "`advalidate run` without --no-cost and with the cost module installed records them).")
    with _rc():
        fig, ax = _figure(5.2, 3.0)
        for i, (backend, c) in enumerate(chains.items()):
            colour = _PALETTE[i % len(_PALETTE)]
            name = _label(backend)
            if c.get("f_work"):
                ax.plot(c["N"], c["f_work"], ":", color=colour, lw=1, label=f"{name}: f")
            if c.get("vjp_work"):
                slope = c.get("vjp_slope")
                ax.plot(c["N"], c["vjp_work"], "o-", color=colour, ms=3, lw=1.4,
                        label=f"{name}: f + VJP" + (f" (slope {slope:.2f})" if slope is not None else ""))
            if c.get("jacobian_work"):
                slope = c.get("jacobian_slope")
                ax.plot(c["N"], c["jacobian_work"], "s--", color=colour, ms=3, lw=1,
                        label=f"{name}: {_jacobian_label(c['jacobian_method'], 'N')}"
                        + (f" (slope {slope:.2f})" if slope is not None else ""))
        ax.set_xscale("log")
        ax.set_yscale("log")
        _ticks_at(ax, [n for c in chains.values() for n in c["N"]])
        ax.set_xlabel("N")
        ax.set_ylabel("work (unit-cost operations)")
        _legend(ax)
        return _svg(fig, "plot-seed-chain"), None


def coverage(rows: list, order=()):
    """Examples per primitive and backend, stacked by status (one panel per backend, in ``order`` first,
    shared rows)."""
    rows = [r for r in rows or [] if r.get("counts")]
    if not rows:
        return None, "No example was checked, so there is no per-primitive coverage to plot."
    present = {r["backend"] for r in rows}
    backends = [b for b in order if b in present] + sorted(present - set(order))
    prims = sorted({r["primitive"] for r in rows})
    counts = {(r["backend"], r["primitive"]): r["counts"] for r in rows}
    statuses = [s for s in STATUS_COLOURS if any(s in c for c in counts.values())]
    statuses += sorted({s for c in counts.values() for s in c} - set(statuses))
    from matplotlib.patches import Rectangle

    with _rc():
        ncols = len(backends)
        fig, axes = _figure(min(1.2 + 1.9 * ncols, 11), 0.8 + 0.17 * len(prims), ncols, sharey=True, squeeze=False)
        for ax, backend in zip(axes[0], backends):
            left = [0] * len(prims)
            for status in statuses:
                widths = [counts.get((backend, p), {}).get(status, 0) for p in prims]
                if not any(widths):
                    continue
                ax.barh(range(len(prims)), widths, left=left, height=0.75, label=status,
                        color=STATUS_COLOURS.get(status, "#6d4c41"))
                left = [a + b for a, b in zip(left, widths)]
            ax.set_title(_label(backend, 24), fontsize=8)
            ax.tick_params(axis="y", length=0)
            ax.set_xlabel("examples")
        axes[0][0].set_yticks(range(len(prims)), [_label(p, 24) for p in prims])
        axes[0][0].invert_yaxis()
        handles = [Rectangle((0, 0), 1, 1, color=STATUS_COLOURS.get(s, "#6d4c41")) for s in statuses]
        fig.legend(handles, statuses, loc="lower center", ncol=len(statuses), bbox_to_anchor=(0.5, 1.0))
        fig.tight_layout()
        return _svg(fig, "plot-coverage"), None
