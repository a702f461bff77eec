"""Value: what it accepts, what it refuses, how it looks, and how its graph is recorded."""

import gc
import math
import threading
from fractions import Fraction

import numpy as np
import pytest

from autograd import Value, enable_grad, is_grad_enabled, no_grad, set_grad_enabled


@pytest.mark.parametrize(
    "number, expected",
    [(2, 2.0), (2.5, 2.5), (True, 1.0), (np.float32(1.5), 1.5), (np.int64(-3), -3.0),
     (np.bool_(True), 1.0), (Fraction(1, 4), 0.25)],
)
def test_real_numbers_are_stored_as_float(number, expected):
    v = Value(number)
    assert type(v.data) is float and v.data == expected
    assert v.grad == 0.0 and v.label == "" and v.op == "" and v.parents == ()


@pytest.mark.parametrize(
    "bad, type_name",
    [("1.0", "str"), (None, "NoneType"), ([1], "list"), (1j, "complex"),
     (np.array([1.0]), "ndarray"), ({}, "dict")],
)
def test_non_numbers_raise_type_error_naming_the_type(bad, type_name):
    with pytest.raises(TypeError, match=type_name):
        Value(bad)


def test_value_of_value_is_refused():
    with pytest.raises(TypeError, match="got a Value"):
        Value(Value(1.0))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 10**400])
def test_non_finite_numbers_are_refused(bad):
    with pytest.raises(ValueError, match="finite|too large"):
        Value(bad)


def test_function_parameters_are_checked_by_name():
    with pytest.raises(TypeError, match="negative_slope"):
        Value(1.0).leaky_relu("0.1")
    with pytest.raises(ValueError, match="exponent"):
        Value(1.0) ** math.inf


def test_detach_makes_a_leaf_with_the_same_number():
    a = Value(2.0, label="a")
    b = (a * 3).detach()
    assert b.is_leaf and b.data == 6.0
    (b * a).backward()
    assert a.grad == 6.0 and b.grad == 2.0


def test_label_must_be_text():
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)


def test_repr_shows_label_data_op_and_grad():
    a = Value(2.0, label="a")
    assert repr(a) == "Value(2.0, label='a', grad=0.0)"
    b = a * 3
    b.backward()
    assert repr(b) == "Value(6.0, op='*', grad=1.0)"
    assert repr(a) == "Value(2.0, label='a', grad=3.0)"


def test_operators_with_numbers_on_either_side():
    a = Value(3.0)
    assert (a + 2).data == 5 and (2 + a).data == 5
    assert (a - 2).data == 1 and (2 - a).data == -1
    assert (a * 2).data == 6 and (2 * a).data == 6
    assert (a / 2).data == 1.5 and (6 / a).data == 2
    assert (a**2).data == 9 and (2**a).data == 8 and (a ** Value(2.0)).data == 9
    assert (-a).data == -3 and abs(Value(-3.0)).data == 3 and (+a) is a
    assert (np.float64(2.0) * a).data == 6 and isinstance(np.float64(2.0) * a, Value)


def test_operators_refuse_non_numbers():
    a = Value(1.0)
    for bad in ["x", None, [1], 1j]:
        with pytest.raises(TypeError):
            a + bad
        with pytest.raises(TypeError):
            bad * a
        with pytest.raises(TypeError):
            a**bad


def test_methods_compute_the_right_numbers():
    x = Value(0.7)
    assert x.exp().data == pytest.approx(math.exp(0.7))
    assert x.log().data == pytest.approx(math.log(0.7))
    assert x.sqrt().data == pytest.approx(math.sqrt(0.7))
    assert x.tanh().data == pytest.approx(math.tanh(0.7))
    assert x.sigmoid().data == pytest.approx(1 / (1 + math.exp(-0.7)))
    assert x.relu().data == 0.7 and (-x).relu().data == 0.0
    assert (-x).leaky_relu().data == pytest.approx(-0.007)
    assert (-x).leaky_relu(negative_slope=0.2).data == pytest.approx(-0.14)
    assert x.softplus().data == pytest.approx(math.log1p(math.exp(0.7)))
    assert x.sin().data == pytest.approx(math.sin(0.7))
    assert x.cos().data == pytest.approx(math.cos(0.7))


def test_graph_records_op_parents_and_param():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    c = a * b
    assert c.op == "*" and c.parents == (a, b) and not c.is_leaf and c.param is None
    d = c**3
    assert d.op == "**" and d.parents == (c,) and d.param == 3.0
    assert d.local_gradients() == (3 * 6.0**2,)
    e = a + 1
    (const,) = [p for p in e.parents if p is not a]
    assert const.data == 1.0 and const.is_leaf
    assert (a * a).parents == (a, a)


def test_comparisons_use_data_and_equality_stays_identity():
    a, b = Value(1.0), Value(1.0)
    assert a < 2 and a <= b and not a > b and a >= 1 and b > Value(0.5)
    assert a != b and a == a
    assert len({a, b}) == 2
    assert float(a) == 1.0 and a.item() == 1.0
    assert max([Value(1.0), Value(3.0), Value(2.0)]).data == 3.0


def test_no_grad_builds_no_graph_and_restores():
    a = Value(2.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        b = a * a
        with enable_grad():
            c = a * a
    assert is_grad_enabled()
    assert b.is_leaf and b.parents == () and b.data == 4.0
    assert c.parents == (a, a)

    @no_grad()
    def square(x):
        return x * x

    assert square(a).is_leaf and is_grad_enabled()
    with set_grad_enabled(False):
        assert (a * a).is_leaf
    assert is_grad_enabled()


def test_no_grad_restores_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            Value(1.0) / 0
    assert is_grad_enabled()


def test_no_grad_is_per_thread():
    inside, seen = threading.Event(), {}
    release = threading.Event()

    def worker():
        with no_grad():
            inside.set()
            release.wait(5)
            seen["worker"] = (Value(1.0) * 2).is_leaf

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    seen["main"] = (Value(1.0) * 2).is_leaf  # the other thread is inside no_grad right now
    release.set()
    t.join()
    assert seen == {"worker": True, "main": False}


def _count_values():
    return sum(1 for o in gc.get_objects() if type(o) is Value)


def test_dropped_graph_is_freed_by_reference_counting_alone():
    gc.collect()
    gc.disable()
    try:
        before = _count_values()
        x = Value(0.5)
        y = x
        for _ in range(2000):
            y = (y * 0.999 + x).tanh()
        y.backward()
        assert _count_values() > before + 2000
        del x, y
        assert _count_values() == before  # freed without the cycle collector
        assert gc.collect() == 0  # and there were no cycles for it to find
    finally:
        gc.enable()
