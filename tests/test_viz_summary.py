"""A Value in Jupyter: its graph when small, a compact summary with a preview when big."""

import shutil

import pytest

from autograd import Value
from viz import summary

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


def chain(n):
    x = Value(1.0001, label="x")
    y = x
    for _ in range(n):
        y = (y * x).tanh() + 1
    y.backward()
    return x, y


def test_the_facts_are_counted_from_the_graph():
    x, y = chain(5)
    facts = summary.describe(y)
    assert facts["values"] == 1 + 5 * 4  # x, then per round: *, tanh, the constant 1, +
    assert facts["ops"] == {"*": 5, "tanh": 5, "+": 5}
    assert facts["leaves"] == 6 and facts["parameters"] == 0
    assert facts["depth"] == 15  # three ops a round, one after the other


@needs_dot
def test_a_small_value_shows_its_graph():
    x, y = chain(3)
    bundle = y._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml"} and "<svg" in bundle["image/svg+xml"]


@needs_dot
def test_a_big_value_shows_a_summary_and_a_small_preview_not_a_giant_svg():
    x, y = chain(200)
    bundle = y._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    text = bundle["text/plain"]
    assert "801 values" in text and "tanh ×200" in text and "600 ops deep" in text
    page = bundle["text/html"]
    assert page.count("<svg") == 1 and page.count('class="node"') <= summary.PREVIEW
    assert len(page) < 200_000
