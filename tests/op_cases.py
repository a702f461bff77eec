"""For every op in autograd.ops.OPS: how to call it on Values and in torch, and where it is smooth.

Shared by the op tests; a new op without a case here makes test_every_op_has_a_case fail.
"""

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st


def reals(lo=-5.0, hi=5.0):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from_zero(lo=1e-2, hi=5.0):
    """Reals with |x| in [lo, hi]: keeps samples off kinks and poles at 0."""
    return st.tuples(st.booleans(), reals(lo, hi)).map(lambda t: t[1] if t[0] else -t[1])


@dataclass
class OpCase:
    ours: Callable  # on Values (or floats, which our ops accept too)
    torch: Callable  # on torch tensors
    domain: tuple  # one hypothesis strategy per input


def _tf(name):
    def call(*xs):
        import torch

        return getattr(torch, name)(*xs)

    return call


def _leaky(x, slope=0.2):
    import torch.nn.functional as F

    return F.leaky_relu(x, slope)


def _softplus(x):
    import torch.nn.functional as F

    return F.softplus(x)


CASES = {
    "add": OpCase(lambda x, y: x + y, lambda x, y: x + y, (reals(), reals())),
    "sub": OpCase(lambda x, y: x - y, lambda x, y: x - y, (reals(), reals())),
    "mul": OpCase(lambda x, y: x * y, lambda x, y: x * y, (reals(), reals())),
    "div": OpCase(lambda x, y: x / y, lambda x, y: x / y, (reals(), away_from_zero(0.2))),
    "pow": OpCase(lambda x, y: x**y, lambda x, y: x**y, (reals(0.1, 4.0), reals(-3.0, 3.0))),
    "pow_const": OpCase(lambda x: x**3, lambda x: x**3, (reals(),)),
    "neg": OpCase(lambda x: -x, lambda x: -x, (reals(),)),
    "abs": OpCase(abs, _tf("abs"), (away_from_zero(),)),
    "exp": OpCase(lambda x: x.exp(), _tf("exp"), (reals(),)),
    "log": OpCase(lambda x: x.log(), _tf("log"), (reals(0.05, 10.0),)),
    "sqrt": OpCase(lambda x: x.sqrt(), _tf("sqrt"), (reals(0.05, 10.0),)),
    "tanh": OpCase(lambda x: x.tanh(), _tf("tanh"), (reals(),)),
    "sigmoid": OpCase(lambda x: x.sigmoid(), _tf("sigmoid"), (reals(-12.0, 12.0),)),
    "relu": OpCase(lambda x: x.relu(), _tf("relu"), (away_from_zero(),)),
    "leaky_relu": OpCase(lambda x: x.leaky_relu(0.2), _leaky, (away_from_zero(),)),
    "softplus": OpCase(lambda x: x.softplus(), _softplus, (reals(-12.0, 12.0),)),
    "sin": OpCase(lambda x: x.sin(), _tf("sin"), (reals(),)),
    "cos": OpCase(lambda x: x.cos(), _tf("cos"), (reals(),)),
}

def power(c):
    """x ** c for a constant c, on Values or tensors."""
    return lambda x: x**c


# Other constant exponents, each with the inputs where x ** c is real and smooth.
POW_CONST_CASES = [
    (2.0, reals()),
    (0.5, reals(0.05, 10.0)),
    (-1.0, away_from_zero(0.2)),
    (-2.5, reals(0.2, 5.0)),
    (1.5, reals(0.05, 5.0)),
    (0.0, reals()),
]
