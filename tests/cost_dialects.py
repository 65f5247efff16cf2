"""An autograd dialect for the cost tests, so they run without the advalidate-autograd plug-in installed."""

from advalidate.render import NUMPY, Dialect

_NAMES = {"np.": "anp.", "F.sigmoid": "ags.expit", "F.erf": "ags.erf", "F.logsumexp": "ags.logsumexp"}


def _autograd_ops():
    ops = dict(NUMPY.ops)

    def call(path):
        return lambda a, p: f"{path}({', '.join(a)})"

    def kw(path):
        def tpl(a, p):
            kws = [f"{k}={tuple(v) if isinstance(v, list) else v!r}" for k, v in p.items() if v is not None]
            return f"{path}({', '.join(list(a) + kws)})"
        return tpl

    ops.update({name: call(f"anp.{fn}") for name, fn in {
        "neg": "negative", "add": "add", "sub": "subtract", "mul": "multiply", "div": "divide", "pow": "power",
        "atan2": "arctan2", "arctan": "arctan", "arcsinh": "arcsinh", "sqrt": "sqrt", "exp": "exp",
        "expm1": "expm1", "log": "log", "log1p": "log1p", "sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh",
        "sinh": "sinh", "cosh": "cosh", "abs": "abs", "maximum": "maximum", "minimum": "minimum",
        "logaddexp": "logaddexp", "hypot": "hypot", "matmul": "matmul", "square": "square"}.items()})
    ops.update({
        "sigmoid": call("ags.expit"), "erf": call("ags.erf"),
        "softplus": lambda a, p: f"anp.logaddexp(0.0, {a[0]})", "relu": lambda a, p: f"anp.maximum({a[0]}, 0.0)",
        "where": lambda a, p: f"anp.where({a[0]} > 0, {a[1]}, {a[2]})",
        "sum": kw("anp.sum"), "mean": kw("anp.mean"), "max": kw("anp.max"), "prod": kw("anp.prod"),
        "logsumexp": kw("ags.logsumexp"), "norm": kw("anp.linalg.norm"),
        "transpose": lambda a, p: f"anp.transpose({a[0]}, {None if p['axes'] is None else tuple(p['axes'])})",
        "reshape": lambda a, p: f"anp.reshape({a[0]}, {tuple(p['shape'])})",
        "broadcast_to": lambda a, p: (f"anp.broadcast_to(anp.reshape({a[0]}, (1,) * ({len(p['shape'])} - "
                                      f"anp.ndim({a[0]})) + anp.shape({a[0]})), {tuple(p['shape'])})"),
        "concatenate": lambda a, p: f"anp.concatenate([{', '.join(a)}], axis={p['axis']})",
        "stack": lambda a, p: f"anp.stack([{', '.join(a)}], axis={p['axis']})",
        "softmax": lambda a, p: f"anp.exp({a[0]} - ags.logsumexp({a[0]}, axis={p['axis']}, keepdims=True))",
        "log_softmax": lambda a, p: f"{a[0]} - ags.logsumexp({a[0]}, axis={p['axis']}, keepdims=True)",
    })
    return ops


def autograd_dialect():
    """The plug-in's dialect when it is installed, else this local one."""
    try:
        from advalidate_autograd.dialect import AUTOGRAD

        return AUTOGRAD
    except ImportError:
        return Dialect("autograd", "import autograd.numpy as anp\nimport autograd.scipy.special as ags",
                       _autograd_ops())
