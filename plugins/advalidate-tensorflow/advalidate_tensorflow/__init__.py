"""advalidate backends for TensorFlow, written against advalidate's contract alone (``advalidate.plugin``).

``tensorflow``: ``tf.GradientTape`` in eager mode; ``tensorflow-function``: the same code inside ``tf.function``.
"""

from .backend import TensorFlowBackend, TensorFlowFunctionBackend

__all__ = ["TensorFlowBackend", "TensorFlowFunctionBackend"]
