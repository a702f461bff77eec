"""autograd.nested: the one home of the nested-list helpers, for the tape, nn and tests."""

import importlib.util
import pathlib
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value, nested, trace

ROOT = pathlib.Path(__file__).resolve().parent.parent


@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), st.data())
def test_flatten_and_unflatten_invert_each_other(dims, data):
    array = np.arange(int(np.prod(dims)), dtype=float).reshape(dims)
    nest = array.tolist()
    assert nested.shape(nest) == tuple(dims)
    assert nested.flatten(nest) == array.ravel().tolist()
    assert nested.unflatten(nested.flatten(nest), tuple(dims)) == nest
    assert nested.shape(array) == tuple(dims)  # numpy arrays are nests too


def test_helpers_on_values_and_numbers():
    a, b = Value(1.0), Value(2.0)
    assert nested.data_of(a) == 1.0 and nested.data_of(3) == 3
    assert nested.as_value(a) is a and nested.as_value(2).data == 2.0
    with pytest.raises(TypeError, match="str"):
        nested.as_value("x")
    assert nested.total([a, b, 3.0]).data == 6.0
    assert nested.to_numpy([[a], [b]]).tolist() == [[1.0], [2.0]]
    with pytest.raises(ValueError, match="ragged"):
        nested.shape([[a, b], [a]])


def test_the_private_nn_copy_is_gone_and_nothing_imports_it():
    assert importlib.util.find_spec("nn._nested") is None
    for path in [*ROOT.glob("nn/**/*.py"), *ROOT.glob("tests/*.py"), *ROOT.glob("viz/*.py")]:
        if path.name != "test_autograd_nested.py":
            assert not re.search(r"\b_nested\b", path.read_text()), path


def test_autograd_never_imports_nn():  # (it may display itself with viz, lazily)
    for path in ROOT.glob("autograd/*.py"):
        source = path.read_text()
        assert not re.search(r"^\s*(from|import) nn\b", source, re.MULTILINE), path


def test_the_tape_checks_fn_results_with_the_shared_helpers():
    w = Value(0.5)
    with pytest.raises(ValueError, match=r"trace\(\): fn's result is ragged"):
        trace(lambda x: [[w * x, w], [w]], [w], (1.0,))
    with pytest.raises(TypeError, match=r"trace\(\): fn's result must be a Value or a \(nested\)"):
        trace(lambda x: [w * x, 2.0], [w], (1.0,))
    with pytest.raises(TypeError, match="fn's result must be a Value"):
        trace(lambda x: [], [w], (1.0,))
    with pytest.raises(TypeError, match="fn's aux must be a Value"):
        trace(lambda x: (w * x, {"a": w}), [w], (1.0,), has_aux=True)
    tape = trace(lambda x: [[w * x, w + x]], [w], (1.0,))
    assert tape.forward(np.array([1.0, 2.0])).shape[-2:] == (1, 2)


def test_the_version_is_written_once_and_every_package_reports_it():
    import configparser
    import pathlib

    import autograd
    import nn
    import viz

    config = configparser.ConfigParser()
    config.read(pathlib.Path(__file__).parent.parent / "setup.cfg")
    assert config["metadata"]["version"] == "attr: autograd.__version__"
    assert nn.__version__ == viz.__version__ == autograd.__version__
