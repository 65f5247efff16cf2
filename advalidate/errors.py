"""Exceptions raised by advalidate. Each names the offending piece and the problem."""

__all__ = ["AdvalidateError", "InvalidFunction", "OracleError", "DomainError", "KinkError"]


class AdvalidateError(Exception):
    """Base class of every error advalidate raises on purpose."""


class InvalidFunction(AdvalidateError, ValueError):
    """A program that cannot be built: unknown primitive, wrong arity, bad params, incompatible shapes, bad JSON."""

    def __init__(self, message, node=None):
        self.node = node
        super().__init__(f"node {node}: {message}" if node is not None else message)


class OracleError(AdvalidateError):
    """The oracle cannot give a derivative at this point (it never answers with a number here)."""

    def __init__(self, message, node=None, prim=None, gap=None):
        self.node, self.prim, self.gap = node, prim, gap
        where = f"node {node} ({prim}): " if node is not None else ""
        super().__init__(where + message)


class DomainError(OracleError):
    """The point (or a point within the finite-difference step of it) lies outside a primitive's domain."""


class KinkError(OracleError):
    """The point lies on (or numerically on) a kink or tie, where the derivative is a convention."""
