"""Every op in the table: first and second derivatives against central differences, and the
table's three evaluations (floats, numpy arrays, Values) agreeing with each other."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_cases import CASES, POW_CONST_CASES, power

from autograd import Value, grad, hessian, ops
from autograd.value import VALUE_MATH

ALL_CASES = [(key, CASES[key].ours, CASES[key].domain) for key in sorted(CASES)] + [
    (f"pow_const[c={c}]", power(c), (domain,)) for c, domain in POW_CONST_CASES
]
IDS = [case[0] for case in ALL_CASES]


def forward(fn, xs):
    return fn(*map(Value, xs)).data


def central_difference(fn, xs, i, h=1e-6):
    step = h * max(1.0, abs(xs[i]))
    up, down = list(xs), list(xs)
    up[i] += step
    down[i] -= step
    return (fn(up) - fn(down)) / (2 * step)


def test_every_op_has_a_test_case():
    assert set(CASES) == set(ops.OPS)


@pytest.mark.parametrize("key", sorted(ops.OPS))
def test_an_ops_summary_names_it_and_prints_one_rule_per_input(key):
    op = ops.OPS[key]
    summary, rules = op.describe(2.0), op.formulas(param=2.0)
    assert summary.startswith(op.name) and len(rules) == op.arity
    assert all(rule in summary for rule in rules)


def test_a_rule_may_take_only_the_names_of_its_op():
    with pytest.raises(ValueError, match="takes z"):
        ops.Op("bad", "bad", ("x",), abs, (lambda z: z,))
    with pytest.raises(ValueError, match="one derivative rule per input"):
        ops.Op("bad", "bad", ("x", "y"), abs, (1.0,))


@pytest.mark.parametrize("name, fn, domain", ALL_CASES, ids=IDS)
@given(data=st.data())
def test_first_derivative_matches_central_differences(name, fn, domain, data):
    xs = [data.draw(s) for s in domain]
    values = [Value(x) for x in xs]
    fn(*values).backward()
    for i, v in enumerate(values):
        numerical = central_difference(lambda p: forward(fn, p), xs, i)
        assert v.grad == pytest.approx(numerical, rel=1e-5, abs=1e-6), f"d/dx{i} at {xs}"


@pytest.mark.parametrize("name, fn, domain", ALL_CASES, ids=IDS)
@given(data=st.data())
def test_second_derivative_matches_differences_of_the_gradient(name, fn, domain, data):
    xs = [data.draw(s) for s in domain]

    def gradient(point):
        values = [Value(x) for x in point]
        return [g.data for g in grad(fn(*values), values, create_graph=True)]

    analytic = hessian(fn, xs)
    for i in range(len(xs)):
        for j in range(len(xs)):
            numerical = central_difference(lambda p, i=i: gradient(p)[i], xs, j)
            assert analytic[i, j] == pytest.approx(numerical, rel=1e-4, abs=1e-5), (i, j, xs)


@pytest.mark.parametrize("name, fn, domain", ALL_CASES, ids=IDS)
@given(data=st.data())
def test_grad_with_create_graph_matches_hessian_rows(name, fn, domain, data):
    xs = [data.draw(s) for s in domain]
    values = [Value(x) for x in xs]
    first = grad(fn(*values), values, create_graph=True)
    plain = grad(fn(*values), values)
    assert [g.data for g in first] == pytest.approx(plain, rel=1e-12, abs=1e-300)
    second = np.array([grad(g, values) for g in first])
    np.testing.assert_allclose(second, hessian(fn, xs), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("key", sorted(CASES))
@given(data=st.data())
def test_float_array_and_value_evaluations_agree(key, data):
    """The table's one definition gives the same numbers on floats, arrays and Values."""
    op = ops.OPS[key]
    xs = [data.draw(s) for s in CASES[key].domain]
    param = {"pow_const": 3.0, "leaky_relu": 0.2}.get(key)
    extra = [param] if param is not None else []
    out = op.forward(*xs, *extra)
    arrays = [np.array([x, x]) for x in xs]
    np.testing.assert_allclose(op.array_forward(*arrays, *extra), [out, out], rtol=1e-14)

    def second(inputs):
        return inputs[1] if op.arity == 2 else None

    values = [Value(x) for x in xs]
    vout = CASES[key].ours(*values)
    assert vout.data == pytest.approx(out, rel=1e-14)
    expected = op.local_derivatives(ops.FLOAT_MATH, xs[0], second(xs), out, param)
    on_arrays = op.local_derivatives(
        ops.ARRAY_MATH, arrays[0], second(arrays), np.array([out, out]), param
    )
    on_values = op.local_derivatives(VALUE_MATH, values[0], second(values), vout, param)
    for e, a, v in zip(expected, on_arrays, on_values):
        np.testing.assert_allclose(np.broadcast_to(a, (2,)), e, rtol=1e-14)
        assert (v.data if isinstance(v, Value) else v) == pytest.approx(e, rel=1e-14)
    assert vout.local_gradients() == pytest.approx(expected, rel=1e-14)


def test_known_derivatives_by_hand():
    """A few derivatives worked out on paper, independent of the table."""
    x = Value(0.3)
    cases = [
        (x.tanh(), 1 - math.tanh(0.3) ** 2),
        (x.sigmoid(), math.exp(-0.3) / (1 + math.exp(-0.3)) ** 2),
        (x.softplus(), 1 / (1 + math.exp(-0.3))),
        (x.sqrt(), 0.5 / math.sqrt(0.3)),
        (x.log(), 1 / 0.3),
        (x**3, 3 * 0.3**2),
        (2**x, 2**0.3 * math.log(2)),
        (1 / x, -1 / 0.3**2),
        (x.leaky_relu(0.1) + (-x).leaky_relu(0.1), 1 - 0.1),
    ]
    for out, expected in cases:
        (g,) = grad(out, [x])
        assert g == pytest.approx(expected, rel=1e-12), out
