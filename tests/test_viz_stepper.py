"""The stepper: 2 steps per Value, gradients that match the engine, one steady layout."""

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from autograd import Value, grad
from viz import Stepper

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot program is not installed"
)
SVG = "{http://www.w3.org/2000/svg}"


def graph_nodes(root):
    """Every Value behind root, found here by a plain walk (not the engine's ordering)."""
    seen, stack = set(), [root]
    while stack:
        v = stack.pop()
        if v not in seen:
            seen.add(v)
            stack.extend(v.parents)
    return seen


def shared():
    """x feeds two ops, so its gradient has two terms: d/dx (x*y * (x+z)) = y(x+z) + xy."""
    x, y, z = Value(2.0, label="x"), Value(3.0, label="y"), Value(-1.0, label="z")
    a = x * y
    a.label = "a"
    b = x + z
    b.label = "b"
    c = a * b
    c.label = "c"
    return x, y, z, c


def test_two_steps_per_value_forward_then_backward():
    *_, c = shared()
    s = Stepper(c)
    n = len(graph_nodes(c))
    assert len(s) == 2 * n == len(s.steps)
    assert [st.phase for st in s.steps] == ["forward"] * n + ["backward"] * n
    forward = [st.node for st in s.steps[:n]]
    backward = [st.node for st in s.steps[n:]]
    assert set(forward) == graph_nodes(c) and backward == forward[::-1]
    for k, node in enumerate(forward):  # inputs come before what is computed from them
        assert all(forward.index(p) < k for p in node.parents)
    assert s.steps[n].node is c


def test_gradients_match_the_engine_and_ignore_stale_grads():
    x, y, z, c = shared()
    x.grad = 100.0  # left over from elsewhere: the stepper computes its own
    s = Stepper(c)
    expected = grad(c, [x, y, z])
    got = s.gradients()
    assert [got[v] for v in (x, y, z)] == pytest.approx(list(expected))
    assert got[x] == pytest.approx(3.0 * (2.0 - 1.0) + 2.0 * 3.0)
    assert x.grad == 100.0  # the Values are not touched


def test_a_shared_input_collects_its_terms_in_the_captions():
    x, y, z, c = shared()
    b = c.parents[1]
    s = Stepper(c)
    caption = [st.caption for st in s.steps if st.phase == "backward" and st.node is x][0]
    # the two terms (b.grad × 1 and a.grad × y), in the order the backward pass sends them
    assert re.search(r"x\.grad = (6 \+ 3|3 \+ 6) = 9, final: the sum over its 2 uses", caption)
    assert "A leaf" in caption
    first = [st.caption for st in s.steps if st.phase == "backward"][0]
    assert first.startswith("backward 1/6: c.grad = 1, the seed")
    # each term names the rule in the graph's names, its factors, product and running sum
    assert "∂c/∂a = b = 1, so a.grad += 1 × 1 = 1 (now 1, final)" in first
    assert "∂c/∂b = a = 6, so b.grad += 1 × 6 = 6 (now 6, final)" in first
    single = [st.caption for st in s.steps if st.phase == "backward" and st.node is y][0]
    assert re.search(r"y\.grad = -?\d+(\.\d+)?, final\. ", single)  # one use: the number, once
    partial = [st.caption for st in s.steps if st.phase == "backward" and st.node is b][0]
    assert "x.grad += 6 × 1 = 6 (now 6, so far)" in partial


def test_refuses_what_it_cannot_step():
    with pytest.raises(TypeError, match="needs a Value"):
        Stepper([Value(1.0)])
    v = Value(1.0)
    for _ in range(20):
        v = v * 1.0
    with pytest.raises(ValueError, match="41 values, so 82 steps.*max_nodes=41"):
        Stepper(v, max_nodes=10)
    with pytest.raises(IndexError, match="out of range"):
        Stepper(Value(1.0)).graph(2)


def frame(stepper, i):
    return ET.fromstring(stepper.svg(i))


def node_texts(root):
    return {
        g.find(f"{SVG}title").text: [t.text for t in g.iter(f"{SVG}text")]
        for g in root.iter(f"{SVG}g") if "node" in g.get("class", "").split()
    }


def node_boxes(root):
    """{node: its outline's coordinates}: where Graphviz put each node."""
    out = {}
    for g in root.iter(f"{SVG}g"):
        if "node" in g.get("class", "").split():
            shape = g.find(f"{SVG}polygon")
            shape = shape if shape is not None else g.find(f"{SVG}ellipse")
            if shape is None:
                shape = g.find(f"{SVG}path")
            geometry = {k: shape.get(k) for k in ("points", "d", "cx", "cy", "rx", "ry")}
            out[g.find(f"{SVG}title").text] = geometry
    return out


def classes(root, kind):
    return {g.get("id"): set(g.get("class").split()) - {kind}
            for g in root.iter(f"{SVG}g") if kind in (g.get("class") or "").split()}


@needs_dot
def test_frames_show_what_is_known_at_each_step():
    x, y, z, c = shared()
    s = Stepper(c)
    names = {v: f"v{i}" for i, v in enumerate(s.order)}
    first = node_texts(frame(s, 0))
    computed = [t for t in first.values() if any(r.startswith("data ") and r != "data ?"
                                                 for r in t)]
    assert len(computed) == 1  # only the first Value so far
    assert all("grad ?" in t for t in first.values() if t[0] in "xyzabc")
    last_forward = node_texts(frame(s, 5))
    assert "data -4" not in first[names[c]] and "data 6" in last_forward[names[c]]
    # backward: x after its first term, then after both
    back = [i for i, st in enumerate(s.steps) if st.phase == "backward"]
    x_grads = [node_texts(frame(s, i))[names[x]][-1] for i in back]
    assert x_grads[0] == "grad ?"  # c's step sends nothing to x yet
    seen = [g for g in x_grads if g != "grad ?"]
    assert seen[0] in ("grad 6", "grad 3") and seen[-1] == "grad 9"


def tone_of_grad(stepper, i, node):
    element = f"v{stepper.order.index(node)}"
    return stepper.state(i)[element][1][-1]


def test_partial_and_final_gradients_have_their_own_tones():
    x, y, z, c = shared()
    s = Stepper(c)
    back = [i for i, st in enumerate(s.steps) if st.phase == "backward"]
    tones = [tone_of_grad(s, i, x) for i in back]
    assert tones[0] == ("grad ?", "pending")
    partial = [t for t in tones if t[1] == "partial"]
    final = [t for t in tones if t[1] == "final"]
    assert partial and partial[0][0] in ("grad 6", "grad 3")
    assert final and final[0][0] == "grad 9" and tones[-1] == ("grad 9", "final")
    assert tones.index(partial[0]) < tones.index(final[0])
    assert all(tone_of_grad(s, i, y)[1] == "pending" for i in range(len(s.order)))


@needs_dot
def test_every_frame_has_the_same_layout_and_highlights_its_own_node():
    *_, c = shared()
    s = Stepper(c)
    roots = [frame(s, i) for i in range(len(s))]
    layouts = [node_boxes(r) for r in roots]
    assert all(lay == layouts[0] for lay in layouts[1:])
    for i, r in enumerate(roots):
        current = f"v{s.order.index(s.steps[i].node)}"
        lit = {element for element, cls in classes(r, "node").items() if "current" in cls}
        expected = {current} | ({"o" + current[1:]} if not s.steps[i].node.is_leaf else set())
        assert lit == expected, i


@needs_dot
def test_the_edges_of_the_current_step_are_drawn_active():
    *_, c = shared()
    s = Stepper(c)
    n = len(s.order)
    root = frame(s, n)  # backward, step 1: c passes its gradient to a and b
    active = {e for e, cls in classes(root, "edge").items() if "active" in cls}
    i = s.order.index(c)
    assert active == {f"e{i}_0", f"e{i}_1"}


def test_frames_are_changes_that_replay_to_each_state():
    """The page stores frame 0 whole, then only what changed: replayed, they give each state."""
    *_, c = shared()
    s = Stepper(c)
    frames = s.frames()
    assert len(frames) == len(s) and frames[0] == s.state(0)
    replayed = {}
    for i, changes in enumerate(frames):
        replayed.update(changes)
        assert replayed == s.state(i), i


def mlp_on_two_examples():
    import nn
    from nn.losses import mse_loss

    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    X, y = [[0.5, -1.0], [1.5, 0.25]], [1.0, -1.0]
    loss = mse_loss([model(x) for x in X], y)
    loss.backward()
    return model, loss


@pytest.mark.slow
@needs_dot
def test_a_small_mlp_page_grows_with_the_graph_not_with_graph_times_frames(tmp_path):
    model, loss = mlp_on_two_examples()
    s = Stepper(loss, max_nodes=200)
    assert len(s.order) > 80  # ~100 Values, ~200 frames
    size = len(s.to_html().encode("utf-8"))
    assert size < 1.5e6, f"{size / 1e6:.2f} MB"
    assert size < 15 * len(s._base_svg)  # one drawing and its changes, not 200 drawings
    frames = s.frames()
    assert sum(map(len, frames[1:])) < 12 * len(frames)  # a step changes a few elements


def test_nn_parameters_are_steps_of_kind_parameter():
    model, loss = mlp_on_two_examples()
    s = Stepper(loss, max_nodes=200)
    weight = model.parameters()[0]
    caption = [st.caption for st in s.steps if st.node is weight][0]
    assert "parameter" in caption


def mlp_16_16():
    import nn
    from nn.losses import mse_loss

    model = nn.MLP(2, [16, 16, 1], activation="tanh", seed=0)
    loss = mse_loss(model([0.5, -1.0]), 1.0)
    return model, loss


def test_a_2_16_16_1_network_is_walked_layer_by_layer_and_opened_where_chosen():
    model, loss = mlp_16_16()
    with pytest.raises(ValueError, match="collapse modules"):
        Stepper(loss)  # some 1,500 Values: too many to step one by one
    s = Stepper(loss, model=model, collapse="layers")
    assert s.modules() == ["layers.0", "layers.1", "layers.2"]
    assert len(s) <= 20
    phases = [(st.phase, getattr(st.node, "path", None)) for st in s.steps]
    layers = [p for phase, p in phases if phase == "forward" and p]
    assert layers == ["layers.0", "layers.1", "layers.2"]  # inputs first
    assert [p for phase, p in phases if phase == "backward" and p] == layers[::-1]
    # the walk by layers gives every Value the gradient the engine gives
    params = model.parameters()
    expected = grad(loss, params)
    got = s.gradients()
    assert [got.get(p, 0.0) for p in params] == pytest.approx(list(expected), rel=1e-12)

    opened = s.drill("layers.1")
    assert "layers.1" not in opened.modules()
    assert [p for p in opened.modules() if p.startswith("layers.1.")] == [
        f"layers.1.neurons.{k}" for k in range(16)]
    neuron = opened.drill("layers.1.neurons.3")
    assert "layers.1.neurons.3" not in neuron.modules() and len(neuron) < 300
    got = neuron.gradients()
    assert [got.get(p, 0.0) for p in params] == pytest.approx(list(expected), rel=1e-12)
    with pytest.raises(ValueError, match="no collapsed module 'layers.9'"):
        s.drill("layers.9")


@needs_dot
def test_a_module_step_marks_its_box_and_fills_in_its_outputs():
    model, loss = mlp_16_16()
    loss.backward()
    s = Stepper(loss, model=model, collapse="layers")
    k = [i for i, st in enumerate(s.steps) if getattr(st.node, "path", "") == "layers.1"][0]
    group = s.steps[k].node
    before, after = s.state(k - 1)[group.node_id], s.state(k)[group.node_id]
    assert after[0] == "current" and before[0] == ""
    assert any("data ?" in text for text, _ in before[1])
    assert not any("data ?" in text for text, _ in after[1])
    root = frame(s, k)
    assert classes(root, "node")[group.node_id] == {"current"}
    assert any("… and 10 more outputs" in t for t in node_texts(root)[group.node_id])
