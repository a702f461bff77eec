"""chainrule's scalar autograd engine: Values that record their graph and back-propagate.

    from autograd import Value
    x = Value(2.0, label="x"); y = (x * x + 1).tanh(); y.backward(); x.grad
"""

from . import (
    _conflict,  # noqa: F401  first: refuses to run beside HIPS autograd
    ops,
)
from .backprop import backward, grad, topological_order
from .functional import hessian, jacobian
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_jacobian
from .tape import Tape, TraceError, trace
from .value import Parameter, Value

__all__ = [
    "Value", "Parameter", "backward", "grad", "topological_order", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "jacobian", "hessian", "gradcheck",
    "gradgradcheck", "numerical_jacobian", "GradcheckError", "ops",
    "trace", "Tape", "TraceError",
]
__version__ = "0.1.0"
