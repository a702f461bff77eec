"""The Jupyter stepper: buttons and slider move through the same frames as the page."""

import re
import shutil

import pytest

from autograd import Value
from viz import Stepper

ipywidgets = pytest.importorskip("ipywidgets", reason="the viz extra (ipywidgets) is missing")
pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


def controls(box):
    bar, caption, picture = box.children
    prev, play, nxt, slider, count, _whole = bar.children
    return prev, play, nxt, slider, count, caption, picture


def test_buttons_and_slider_step_through_the_walk():
    x, w = Value(2.0, label="x"), Value(-1.0, label="w")
    s = Stepper((x * w).relu())
    prev, play, nxt, slider, count, caption, picture = controls(s.widget())
    assert slider.max == len(s) - 1 == play.max
    assert count.value == f"1 / {len(s)}"
    assert "forward 1/4" in caption.value and picture.value.startswith("<svg")
    assert "data 2" in picture.value and "data -2" not in picture.value
    first = picture.value
    nxt.click()
    assert slider.value == 1 and "forward 2/4" in caption.value and picture.value != first
    assert "data -1" in picture.value
    prev.click()
    prev.click()  # stays at the first step
    assert slider.value == 0 and picture.value == first
    slider.value = len(s) - 1
    assert caption.value.startswith("<code>backward 4/4") and count.value == "8 / 8"
    nxt.click()
    assert slider.value == len(s) - 1


def test_the_caption_is_escaped():
    v = Value(1.0, label="<img src=x onerror=alert(1)>") * 2
    *_, caption, _ = controls(Stepper(v).widget())
    assert "<img" not in caption.value and "&lt;img" in caption.value


def test_a_stepper_shows_itself_as_the_widget_in_jupyter():
    bundle = Stepper(Value(1.0, label="x") + 1)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_a_wide_graph_is_shown_through_a_window_on_the_current_node():
    from viz.frames import element_boxes
    from viz.widgets import VIEW

    x = Value(0.5, label="x")
    y = x
    for _ in range(12):
        y = (y * 1.1).tanh()
    s = Stepper(y)
    box = s.widget()
    prev, play, nxt, slider, count, caption, picture = controls(box)
    whole = box.children[0].children[-1]
    boxes = element_boxes(s._base_svg)
    for i in (0, len(s.order) // 2, len(s) - 1):
        slider.value = i
        found = re.search(r'viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"', picture.value)
        left, top, w, h = map(float, found.groups())
        assert w <= VIEW[0] and h <= VIEW[1]
        x0, y0, x1, y1 = boxes[s.focus(i)]
        assert left <= x0 and x1 <= left + w and top <= y0 and y1 <= top + h, i
    whole.value = True
    assert 'width="100%"' in picture.value


def test_the_widget_opens_a_module_and_goes_back():
    import nn
    from nn.losses import mse_loss

    model = nn.MLP(2, [4, 4, 1], activation="tanh", seed=0)
    loss = mse_loss(model([0.5, -1.0]), 1.0)
    s = Stepper(loss, model=model, collapse="layers")
    box = s.widget()
    choose, back = box.children[0].children[-1].children
    assert back.disabled and "layers.1" in [value for _, value in choose.options]
    choose.value = "layers.1"
    assert box.stepper.modules()[1:5] == [f"layers.1.neurons.{k}" for k in range(4)]
    assert len(box.stepper) > len(s)
    choose, back = box.children[0].children[-1].children
    assert not back.disabled
    back.click()
    assert box.stepper is s
