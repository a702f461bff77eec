"""The engine's contract, fuzzed over every op and every pair of ops, at every magnitude.

For inputs drawn from all of float64 (subnormals, 1e-320 ... 1e300, both signs, exact
zeros, the ops' special points), each op of `ops.OPS` alone and each composition
``op2(op1(x, y), z)``:

- the forward pass, backward() and grad() either raise one of the documented errors
  (ValueError, ZeroDivisionError, OverflowError) with a message naming an op of the graph,
  or give finite numbers: never a silent nan or inf; a failed backward changes no .grad;
- backward() and grad() agree exactly (numbers and error messages), grad(create_graph=True)
  too, but for the one documented case (`ours`);
- never a spurious error: where we raise, the exact derivative (mpmath, `exact_gradient`)
  is beyond the float range or undefined;
- finite first derivatives equal torch float64 where torch is finite (rtol 1e-9, absolute
  floor 1e-300 for results rounded in the subnormal range), else the exact value;
- Hessians (`hessian`) equal torch's, on inputs of 1e-20 .. 1e20 (see `moderate`);
- first and second derivatives equal central differences in a smooth region.

Where torch or float64 legitimately differ, the reference or the allowed error changes for
that one place, with its reason in the docstring of the function that decides it
(`_torch_softplus`, `_torch_sigmoid`, `at_our_point`, `zero_stops`,
`torch_masks_an_infinity`, `torch_flushes_subnormals`, `torch_divides_by_a_square`,
`floor`, `torch_masked_entries`, `chain_terms`, `hessian_tolerance`); no tolerance is
loosened globally.
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from op_cases import CASES

from autograd import Value, grad, gradcheck, gradgradcheck, hessian, ops

ERRORS = (ValueError, ZeroDivisionError, OverflowError)
RTOL = 1e-9
ATOL = 1e-300  # results in the subnormal range are rounded to multiples of 4.9e-324

# --- inputs: every magnitude and sign, plus the special points of the ops ---------------

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, -2.0, 5e-324, -5e-324, 2.2250738585072014e-308,
           1e-160, 1e-155, 1e-300, 1e300, 709.0, 710.0, 37.0, -745.0, 1e-6, 1e-12]
magnitudes = st.builds(
    lambda sign, mantissa, exponent: sign * mantissa * 10.0**exponent,
    st.sampled_from([1.0, -1.0]), st.floats(1.0, 9.99), st.integers(-320, 300),
)
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False), magnitudes, st.floats(-5.0, 5.0),
    st.sampled_from(SPECIAL),
)
points = st.tuples(numbers, numbers, numbers)

# --- every op, on Values and on torch tensors -------------------------------------------

EXPONENTS = [3.0, 2.0, 0.5, -1.0, -2.5, 1.5, 0.0]  # for x ** c: integer, fractional, 0


def _power(c):
    return lambda x: x**c


def _torch_softplus(x):
    # torch's softplus returns x itself (and derivative 1) above its threshold of 20, where
    # log(1 + e^x) differs from x by e^-x, up to 2e-9: more than RTOL; and its second
    # derivative cancels (4.1399373880e-8 at x = 17, exact 4.1399373760e-8). The reference
    # is softplus written out on each side of 0, which torch differentiates exactly.
    import torch

    above = x + torch.log1p(torch.exp(-x.clamp(min=0.0)))
    return torch.where(x > 0, above, torch.log1p(torch.exp(x.clamp(max=0.0))))


def _torch_sigmoid(x):
    # torch differentiates sigmoid as out·(1 - out), which loses the derivative for large x
    # (1 - out cancels: relative error 1e-3 at x = 30, 100% from x = 37 on). The reference
    # is sigmoid written out on both sides of 0, which torch differentiates exactly.
    import torch

    e = torch.exp(x.clamp(max=0.0))  # each side sees only its own half of the line
    return torch.where(x >= 0, 1 / (1 + torch.exp(-x.clamp(min=0.0))), e / (1 + e))


def _callers():
    calls = {}
    for key, case in sorted(CASES.items()):
        op = ops.OPS[key]
        if key == "pow_const":
            for c in EXPONENTS:
                calls[f"pow_const[{c:g}]"] = (op, _power(c), _power(c))
        else:
            theirs = {"softplus": _torch_softplus, "sigmoid": _torch_sigmoid}.get(key, case.torch)
            calls[key] = (op, case.ours, theirs)
    return calls


CALLS = _callers()
NAMES = sorted(CALLS)
PAIRS = [(a, b) for a in NAMES for b in NAMES]


def program(names):
    """fn(x, y, z) = op2(op1(x, y), z) for names (op1, op2); op1(x, y) for one name."""

    def fn(x, y, z, theirs=False):
        def call(name, operands):
            op, ours_fn, theirs_fn = CALLS[name]
            return (theirs_fn if theirs else ours_fn)(*operands[: op.arity])

        first = call(names[0], (x, y))
        if theirs and len(names) == 2:
            first = at_our_point(first, x, y, names[0])
        return first if len(names) == 1 else call(names[1], (first, z))

    return fn


def at_our_point(first, x, y, name):
    """torch's op1 result, moved to ours where the two roundings differ (by an ulp: torch's
    x**3 is x·x·x, ours pow(x, 3)), its derivatives unchanged. op2 is then compared at the
    same point: cos(a) at a = 1.5e48 turns one ulp of a into a different number."""
    import torch

    with torch.no_grad():
        values = [v.detach().item() if isinstance(v, torch.Tensor) else v for v in (x, y)]
    try:
        ours_first = program((name,))(*map(Value, values), 0.0).data
    except ERRORS:
        return first
    if first.detach().item() == ours_first or not math.isfinite(first.detach().item()):
        return first
    assert close(first.detach().item(), ours_first, rtol=1e-12), (first, ours_first)
    return first + (torch.tensor(ours_first, dtype=torch.float64) - first).detach()


def error_names_an_op(error, names):
    assert isinstance(error, ERRORS), repr(error)
    text = str(error)
    assert any(repr(CALLS[n][0].name) in text or text.startswith(f"{CALLS[n][0].name}:")
               for n in names), f"{type(error).__name__} names none of {names}: {text}"


def same(a, b, exact_text=True):
    """Equal numbers, or errors of one class (and one message)."""
    if isinstance(a, Exception) or isinstance(b, Exception):
        return type(a) is type(b) and (not exact_text or str(a) == str(b))
    return a == b


def close(a, b, rtol=RTOL, atol=ATOL):
    return abs(a - b) <= atol + rtol * abs(b)


def finite(*xs):
    return all(math.isfinite(x) for x in np.ravel(xs))


# --- ours -------------------------------------------------------------------------------


def ours(names, xs):
    """Forward, grad(), grad(create_graph=True) and backward(): numbers or the error."""
    values = [Value(x) for x in xs]
    try:
        out = program(names)(*values)
    except ERRORS as error:
        error_names_an_op(error, names)
        return {"forward": error}
    assert isinstance(out, Value) and math.isfinite(out.data)
    result = {"out": out.data, "a": out.data if len(names) == 1 else out.parents[0].data}
    for key, call in [
        ("grad", lambda: grad(out, values)),
        ("graph", lambda: tuple(g.data for g in grad(out, values, create_graph=True))),
    ]:
        try:
            result[key] = call()
        except ERRORS as error:
            error_names_an_op(error, names)
            result[key] = error
    before = [v.grad for v in values]
    try:
        out.backward()
        result["backward"] = tuple(v.grad for v in values)
    except ERRORS as error:
        assert [v.grad for v in values] == before, "a failed backward changed a .grad"
        result["backward"] = error
    assert same(result["backward"], result["grad"]), result
    # On Values an intermediate that overflows raises at its op ("is not finite there"),
    # on floats it is caught as the product overflowing: same class, other words.
    # One more difference: with create_graph each local derivative is a node, a float;
    # where it is beyond the float range (1/x at a subnormal x) although the gradient
    # times it is not, grad() and backward() give the product (`ops.Wide`) and
    # grad(create_graph=True) raises OverflowError: that node cannot exist.
    graph, floats = result["graph"], result["grad"]
    if isinstance(graph, OverflowError) and not isinstance(floats, Exception):
        assert "is not finite there" in str(graph), result
    elif isinstance(graph, Exception) or isinstance(floats, Exception):
        assert same(graph, floats, exact_text=False), result
    # (numbers: compared in check_first_derivatives, which knows the exact derivatives)
    if not isinstance(result["grad"], Exception):
        assert finite(result["grad"])
    return result


# --- torch, and where it is not the reference ------------------------------------------


def theirs(torch, names, xs):
    """torch's forward, gradient and op1's result, in float64 (inf/nan where torch has them)."""
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = program(names)(*ts, theirs=True)
    first = program(names[:1])(*ts, theirs=True).item()
    if not out.requires_grad:
        return out.item(), (0.0, 0.0, 0.0), first
    gs = torch.autograd.grad(out, ts, allow_unused=True)
    return out.item(), tuple(0.0 if g is None else g.item() for g in gs), first


def gradient_reaching_op1(torch, names, xs):
    """d op2 / d (op1's result) by torch, at this point (1 for a single op)."""
    if len(names) == 1:
        return 1.0
    a = torch.tensor(program(names[:1])(*map(Value, xs)).data, dtype=torch.float64,
                     requires_grad=True)
    z = torch.tensor(xs[2], dtype=torch.float64)
    out = program(names[1:])(a, z, z, theirs=True)
    (g,) = torch.autograd.grad(out, [a], allow_unused=True)
    return 0.0 if g is None else g.item()


def _mp_local():
    """Each op's local derivatives in exact arithmetic (mpmath, 50 digits): the reference
    where torch's rule overflows in a step although the derivative does not. At the kinks
    the conventions are torch's and ours: relu'(0) = 0, leaky_relu'(0) = slope, abs'(0) = 0."""
    import mpmath as mp

    def sigmoid(a):
        return 1 / (1 + mp.exp(-a))

    table = {
        "add": lambda a, b: (1, 1), "sub": lambda a, b: (1, -1), "mul": lambda a, b: (b, a),
        "div": lambda a, b: (1 / b, -a / b**2),
        "pow": lambda a, b: (b * a ** (b - 1), a**b * mp.log(a)),
        "neg": lambda a: (-1,), "abs": lambda a: (mp.sign(a),), "exp": lambda a: (mp.exp(a),),
        "log": lambda a: (1 / a,), "sqrt": lambda a: (1 / (2 * mp.sqrt(a)),),
        "tanh": lambda a: (mp.sech(a) ** 2,),
        "sigmoid": lambda a: (sigmoid(a) * sigmoid(-a),),
        "relu": lambda a: (1 if a > 0 else 0,),
        "leaky_relu": lambda a: (1 if a > 0 else mp.mpf("0.2"),),
        "softplus": lambda a: (sigmoid(a),), "sin": lambda a: (mp.cos(a),),
        "cos": lambda a: (-mp.sin(a),),
    }
    def power_rule(c):
        return lambda a: (0 if c == 0 else c * a ** (mp.mpf(c) - 1),)

    for c in EXPONENTS:
        table[f"pow_const[{c:g}]"] = power_rule(c)
    return mp, table


def exact_gradient(names, xs):
    """(d out / d input for each input, d out / d op1's result, op1's local derivatives):
    the chain rule in exact arithmetic, each local derivative exact at the floats our
    forward pass computed (the forward's own rounding, which torch shares, is not counted
    against the backward pass). inf where a number is beyond the float range."""
    mp, table = _mp_local()

    def local(name, args):
        arity = CALLS[name][0].arity
        try:
            ds = [mp.mpf(d) for d in table[name](*map(mp.mpf, args[:arity]))]
        except ZeroDivisionError:  # 1/0: an infinite derivative
            ds = [mp.inf] * arity
        return ds + [mp.mpf(0)] * (2 - arity)

    def as_float(e):
        return float(e) if mp.isfinite(e) else math.inf

    with mp.workdps(50):
        first = local(names[0], xs)
        reaching = mp.mpf(1)
        if len(names) == 1:
            exact = first + [mp.mpf(0)]
        else:
            second = local(names[1], (_first(names, xs), xs[2]))
            reaching = second[0]
            exact = [second[0] * first[0], second[0] * first[1], second[1]]
        return [as_float(e) for e in exact], as_float(reaching), [as_float(e) for e in first]


def _first(names, xs):
    return program(names[:1])(*map(Value, xs)).data


def zero_stops(torch, names, xs, i, mine):
    """Torch's 0 x inf = nan where we give 0: op2 passes exactly 0 to op1, whose own
    derivative is infinite or undefined there (the policy in autograd.backprop)."""
    return (len(names) == 2 and i < 2 and mine == 0.0
            and gradient_reaching_op1(torch, names, xs) == 0.0)


def torch_masks_an_infinity(names, xs, error):
    """torch's relu backward selects (0 where x <= 0) instead of multiplying, so the infinite
    derivative of op2 at relu's 0 (sqrt(relu(x)) at x <= 0) becomes 0 in torch. The true
    one-sided derivatives are 0 and inf; we raise at op2, where the inf arises."""
    if len(names) < 2 or names[0] != "relu" or xs[0] > 0.0:
        return False
    return f"backward through {CALLS[names[1]][0].name!r}" in str(error)


def floor(names, i, reaching, first, a, e):
    """The absolute error allowed for input i beyond ATOL, each term with its reason.

    - tanh's rule is 1 - out²: out = tanh(x) is rounded to the nearest float (an error up
      to 1.1e-16), so 1 - out² carries an absolute error up to 2.3e-16, large relative to
      1 - out² where |x| is large (1e-8 at x = 10; from |x| = 19.1 out is ±1 and the rule
      gives 0). torch's rule is the same formula, rounded differently. ("1 - out²" is the
      formula diagrams print, see test_viz_dot.) Allowed: that bound times the other
      factors of the chain.
    - A gradient stored at op1's result in the subnormal range (below 2.2e-308) has lost
      digits (its rounding is up to 2.5e-324); allowed: that times op1's derivative.
    - op1's result `a` itself in the subnormal range, or 0 by underflow, has lost digits
      (2.5e-324 absolute) and the rules written with `out` (exp, sigmoid, -out/y,
      out·log x) inherit them, as torch's do: a relative error up to 2.5e-324/|a|, or for
      a = 0 up to 2.5e-324 x |d rule/d out| (at most 745, |log x|) x the gradient there.
    """
    allowed = ATOL
    if len(names) == 1 or i < 2:  # the input reaches op2 through op1
        local = first[i] if i < 2 else 0.0
        if abs(a) < 2.3e-308:
            allowed = max(allowed, 1e3 * 5e-324 * abs(reaching))
            if a != 0.0:
                allowed = max(allowed, 2.5e-324 / abs(a) * abs(e))
        if names[0] == "tanh" and i == 0:
            allowed = max(allowed, 2.3e-16 * abs(reaching))
        if len(names) == 2 and names[1] == "tanh":
            allowed = max(allowed, 2.3e-16 * abs(local))
        if len(names) == 2 and abs(reaching) < 2.3e-308:
            allowed = max(allowed, 5e-324 * abs(local))
    return allowed


def check_first_derivatives(torch, names, xs):
    mine = ours(names, xs)
    t_out, t_grads, t_first = theirs(torch, names, xs)
    x, y, z = xs
    if "forward" in mine:
        if names[0] == "pow" and x <= 0.0:
            return  # documented: a Value exponent needs a positive base (torch allows some)
        if len(names) == 2 and names[1] == "pow" and "base must be positive" in str(
            mine["forward"]
        ):
            return
        # We raise at the op whose result is not finite; torch carries the inf/nan on,
        # and the op after it may make a finite number of it (sigmoid(inf) = 1).
        assert not (math.isfinite(t_out) and math.isfinite(t_first)), (mine, t_out)
        return
    if math.isfinite(t_out):
        assert close(mine["out"], t_out, rtol=1e-12), (mine["out"], t_out)
    else:
        # torch's intermediate overflowed to inf where ours is finite? Only through a
        # rule we write differently; none of the forwards is: torch must agree.
        raise AssertionError(f"torch's forward is {t_out}, ours {mine['out']}")
    gs = mine["grad"]
    exact, reaching, first = exact_gradient(names, xs)
    if isinstance(gs, Exception):
        # Never a spurious error: some derivative is beyond the float range or undefined,
        # the leaves' or the one backward() stores at op1's result (every node's gradient
        # is stored, so that one must be a float too).
        assert not finite([*exact, reaching]) or torch_masks_an_infinity(names, xs, gs), (
            gs, exact, reaching)
        return
    graph_floor = 0.0
    for i, (g, t, e) in enumerate(zip(gs, t_grads, exact)):
        atol = floor(names, i, reaching, first, mine["a"], e)
        if i < 2 and abs(first[i]) < 2.3e-308 and abs(reaching) > 1.0:
            # op1's derivative underflowed (to a subnormal or 0) and a large gradient
            # reaches it: grad() multiplies the two in `ops.Wide` (one rounding), the
            # graph of grad(create_graph=True) holds the derivative as a float node
            graph_floor = 5e-324 * abs(reaching)
        else:
            graph_floor = 0.0
        if not isinstance(mine["graph"], Exception):
            assert close(mine["graph"][i], g, atol=max(atol, graph_floor)), (i, mine)
        if math.isfinite(t) and not (torch_divides_by_a_square(names, i)
                                     or torch_flushes_subnormals(first, reaching)):
            assert close(g, t, atol=atol), (i, g, t)
        elif math.isfinite(e):
            # torch's rule overflowed in a step (or is inaccurate, see below): exact value
            assert close(g, e, atol=atol), (i, g, e, t)
        else:
            assert zero_stops(torch, names, xs, i, g), (i, g, t, e)


def torch_flushes_subnormals(first, reaching):
    """torch's CPU kernels may flush a subnormal intermediate to 0 (d(x**-1)/dx = -1e-320 at
    x = 1e160 is -0.0 in torch, so log(x**-1)'s derivative -1/x is lost with it): where a
    local derivative on the path is subnormal, the exact value is the reference."""
    return any(abs(v) < 2.3e-308 for v in [*first, reaching])  # 0: exact, or below 5e-324


def torch_divides_by_a_square(names, i):
    """torch writes d(a/b)/db as -a/(b·b), whose b·b underflows or overflows for |b| below
    1e-154 or above 1e154: a wrong finite number (b·b subnormal) or inf, where the
    derivative is finite. We write it -out/b. The exact value is the reference."""
    return (names[0] == "div" and i == 1) or (names[-1] == "div" and len(names) == 2 and i == 2)


# --- the fuzz ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None)
@given(xs=points)
def test_each_op_first_derivatives(torch, name, xs):
    check_first_derivatives(torch, (name,), xs)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None)
@given(names=st.sampled_from(PAIRS), xs=points)
def test_each_pair_of_ops_first_derivatives(torch, names, xs):
    check_first_derivatives(torch, names, xs)


# --- second derivatives -----------------------------------------------------------------


def torch_hessian(torch, names, xs):
    ts = tuple(torch.tensor(x, dtype=torch.float64) for x in xs)
    h = torch.autograd.functional.hessian(lambda *t: program(names)(*t, theirs=True), ts)
    return np.array([[float(h[i][j]) for j in range(3)] for i in range(3)])


def torch_masked_entries(names, xs):
    """torch's pow masks d(x**y)/dx to 0 where y == 0 (the derivative is 0 there), so the
    mixed term d/dy of it, x^(y-1)(1 + y log x) = 1/x, is missing from the rows of the base's
    inputs: its Hessian is not symmetric there. The transposed entry, d/d(base) of
    d/dy = out·log x, is complete: that one is the reference. (row, column) pairs."""
    masked = set()
    if names[0] == "pow" and xs[1] == 0.0:
        masked |= {(0, 1)}
    if len(names) == 2 and names[1] == "pow" and xs[2] == 0.0:
        masked |= {(0, 2), (1, 2)}
    return masked


def nodes_of(names, out):
    """{op name: its node} for the graph's two (or one) op nodes."""
    return {names[-1]: out} | ({names[0]: out.parents[0]} if len(names) == 2 else {})


def chain_terms(torch, names, xs, a):
    """|each term| of the chain rule's Hessian, summed, per entry: op2''·a_i·a_j and
    op2'·a_ij for two ops. An entry is their sum, so its rounding is relative to their
    size, not to the sum: log(1 + x) as softplus(log(x)) at x = 1e-8 has f'' = -1 made of
    terms ±1e8 (ours and torch's lose 8 digits alike)."""
    if len(names) == 1:
        return np.zeros((3, 3)), 0.0

    def derivatives(name, point):
        ts = tuple(torch.tensor(v, dtype=torch.float64) for v in point)
        fn = program((name,))
        g = torch.autograd.functional.jacobian(lambda *t: fn(*t, theirs=True), ts)
        h = torch.autograd.functional.hessian(lambda *t: fn(*t, theirs=True), ts)
        return (np.array([float(v) for v in g]),
                np.array([[float(h[r][c]) for c in range(3)] for r in range(3)]))

    j1, h1 = derivatives(names[0], (xs[0], xs[1], 0.0))
    j2, h2 = derivatives(names[1], (a, xs[2], 0.0))
    da = np.array([j1[0], j1[1], 0.0])  # d a / d (x, y, z)
    terms = np.abs(h2[0, 0] * np.outer(da, da)) + np.abs(j2[0] * np.pad(h1[:2, :2], (0, 1)))
    terms[:2, 2] = terms[2, :2] = np.abs(h2[0, 1] * da[:2])
    terms[2, 2] = abs(h2[1, 1])
    # A factor in the subnormal range (op2'' = 2a⁻³ = 2e-315 at a = 1e105) has lost digits,
    # 2.5e-324 of it: the entries made with it inherit that relative error. Where that is
    # over 1% (2a⁻³ = 5e-324 at a = 7e107: no digit left) neither torch's entry nor ours
    # is a reference for the other; only finiteness is checked there.
    factors = np.abs(np.concatenate([j1[:2], h1[:2, :2].ravel(), j2[:2], h2[:2, :2].ravel()]))
    lost = sum(2.5e-324 / f for f in factors if 0.0 < f < 2.3e-308)
    return terms, lost


def hessian_tolerance(names, out, g, i, j):
    """(rtol, atol) for entry (i, j), each loosening with its reason; g is the gradient.

    - tanh: every derivative of 1 - out² inherits its relative error, up to
      2.3e-16 / (1 - out²) (1e-8 at x = 10, no digit left from |x| = 19.1).
    - sigmoid: its second derivative is sigmoid'·(sigmoid(-x) - sigmoid(x)) (ours, and
      torch's 1 - 2·out), a difference of numbers near 1/2 that cancels near x = 0, to an
      absolute error of about 1e-16 x sigmoid'; in the Hessian that is times the other
      factors, g_i·g_j / sigmoid' where sigmoid is op2, or g_i where it is op1.
    """
    rtol, atol = RTOL, ATOL
    nodes = nodes_of(names, out)
    if "tanh" in nodes:
        spare = 1.0 - nodes["tanh"].data ** 2
        rtol += math.inf if spare == 0.0 else 1e-15 / spare
    if "sigmoid" in nodes:
        s = nodes["sigmoid"].data
        slope = s * (1.0 - s)
        scale = max(abs(g[i]), abs(g[j]))
        if slope > 0.0:
            scale = max(scale, abs(g[i] * g[j]) / slope)
        atol = max(atol, 1e-15 * scale)
    return rtol, atol


def check_second_derivatives(torch, names, xs):
    fn = program(names)
    try:
        out = fn(*map(Value, xs))
    except ERRORS:
        return  # the forward's errors are test_each_..._first_derivatives' business
    try:
        with np.errstate(all="ignore"):
            ours_h = hessian(fn, list(xs))
    except ERRORS as error:
        # The Hessian differentiates the gradient's graph, made of the rules' own ops, so
        # the op named may be one of those ('/' of log's 1/x): any op of the table.
        assert isinstance(error, ERRORS)
        assert any(repr(op.name) in str(error) for op in ops.OPS.values()), error
        ours_h = error
    try:
        theirs_h = torch_hessian(torch, names, xs)
    except RuntimeError:  # torch refuses some graphs (an output that needs no grad)
        return
    if isinstance(ours_h, Exception):
        assert not finite(theirs_h) or torch_masks_an_infinity(names, xs, ours_h), (
            ours_h, theirs_h)
        return
    assert finite(ours_h), ours_h
    masked = torch_masked_entries(names, xs)
    g = theirs(torch, names, xs)[1]
    with np.errstate(all="ignore"):
        terms, lost = chain_terms(
            torch, names, xs, out.parents[0].data if len(names) == 2 else 0.0
        )
    for i in range(3):
        for j in range(3):
            t = theirs_h[j, i] if (i, j) in masked else theirs_h[i, j]
            rtol, atol = hessian_tolerance(names, out, g, i, j)
            atol, rtol = max(atol, 1e-15 * terms[i, j]), rtol + lost
            if math.isfinite(t) and math.isfinite(rtol) and math.isfinite(atol) and lost < 0.01:
                assert close(ours_h[i, j], t, rtol, atol), (i, j, ours_h, theirs_h)


# A second derivative is a sum of products of first- and second-order factors, and those
# are powers of the inputs up to the 13.5th ((x³)^-2.5 has op2'' = 8.75·x^-13.5), so its
# intermediates leave the normal range, and their digits, long before the inputs do: a
# subnormal factor keeps a few digits (torch may even flush it to 0). The extremes are the
# first-derivative fuzz's; here magnitudes stay within 1e-20 .. 1e20 (with zeros, signs
# and every special point in that range), where every factor is a normal float.
moderate = st.builds(
    lambda sign, mantissa, exponent: sign * mantissa * 10.0**exponent,
    st.sampled_from([1.0, -1.0]), st.floats(1.0, 9.99), st.integers(-20, 19),
)
moderate_points = st.tuples(*[st.one_of(
    moderate, st.floats(-1e20, 1e20), st.floats(-5.0, 5.0),
    st.sampled_from([x for x in SPECIAL if x == 0.0 or 1e-20 <= abs(x) <= 1e20]),
)] * 3)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, deadline=None)
@given(xs=moderate_points)
def test_each_op_second_derivatives(torch, name, xs):
    check_second_derivatives(torch, (name,), xs)


@pytest.mark.slow
@settings(max_examples=600, deadline=None)
@given(names=st.sampled_from(PAIRS), xs=moderate_points)
def test_each_pair_of_ops_second_derivatives(torch, names, xs):
    check_second_derivatives(torch, names, xs)


# --- central differences, where they are reliable (no torch needed) ----------------------

# Where an op has a kink, a pole or a domain edge: its inputs must keep this far from it
# for a central difference of step 1e-6 to see a smooth function.
EDGES = {"relu": 0, "abs": 0, "leaky_relu": 0, "log": 0, "sqrt": 0, "div": 1, "pow": 0}
EDGES |= {name: 0 for name in NAMES if name.startswith("pow_const")}
smooth = st.floats(0.2, 3.0).flatmap(lambda m: st.sampled_from([m, -m]))


def smooth_region(names, xs):
    """Do the inputs and op1's result keep 0.1 from every kink, pole and domain edge, and
    stay in a range where the functions are moderate (|value| < 1e3)?"""
    try:
        first = program(names[:1])(*map(Value, xs)).data
        out = program(names)(*map(Value, xs)).data
    except ERRORS:
        return False
    for name, operands in zip(names, [(xs[0], xs[1]), (first, xs[2])]):
        if name in EDGES and abs(operands[EDGES[name]]) < 0.1:
            return False
        if name == "pow" and operands[0] <= 0.1:
            return False
    return abs(first) < 1e3 and abs(out) < 1e3


@settings(max_examples=300, deadline=None)
@given(names=st.sampled_from(PAIRS + [(n,) for n in NAMES]), xs=st.tuples(smooth, smooth, smooth))
def test_first_and_second_derivatives_match_central_differences(names, xs):
    assume(smooth_region(names, xs))
    fn = program(names)
    assert gradcheck(fn, list(xs), eps=1e-6, atol=1e-6, rtol=1e-5)
    assert gradgradcheck(fn, list(xs), eps=1e-6, atol=1e-5, rtol=1e-4)
