"""The visual demo writes its pictures into one folder and says where."""

import shutil
import xml.etree.ElementTree as ET

import pytest

from viz import demo

pytestmark = [
    pytest.mark.slow,  # the whole demo, nn training included
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing"),
]
SVG = "{http://www.w3.org/2000/svg}"


def test_the_demo_writes_the_neuron_pictures_and_the_stepper(tmp_path, monkeypatch, capsys):
    nn_demo = pytest.importorskip("nn.demo")  # nn's own demo is nn's to test; a quick stand-in:
    monkeypatch.setattr(demo, "_nn_demo", lambda: nn_demo.train_moons(40, 5, quiet=True))
    out = tmp_path / "out"
    written = demo.main(str(out))
    names = {p.rsplit("/", 1)[-1] for p in written}
    assert {"neuron_forward.svg", "neuron_backward.svg", "neuron_stepper.html"} <= names
    printed = capsys.readouterr().out
    assert all(p in printed for p in written)
    forward = [t.text for t in ET.parse(out / "neuron_forward.svg").iter(f"{SVG}text")]
    backward = [t.text for t in ET.parse(out / "neuron_backward.svg").iter(f"{SVG}text")]
    assert "data 0.7071" in forward and "grad 0.5" in backward  # micrograd's neuron
    assert "grad -1.5" in backward and "grad 1" in backward  # do/dx1 = w1 · (1 - o²)
    page = (out / "neuron_stepper.html").read_text(encoding="utf-8")
    assert page.count("forward ") >= 10 and page.count("backward ") >= 10  # 10 Values
    pytest.importorskip("matplotlib")
    assert {"decision_boundary.png", "training_history.png"} <= names
    assert (out / "decision_boundary.png").read_bytes()[:4] == b"\x89PNG"


def test_the_demo_runs_nn_demo_first(tmp_path, monkeypatch, capsys):
    nn_demo = pytest.importorskip("nn.demo")
    calls, train = [], nn_demo.train_moons
    monkeypatch.setattr(nn_demo, "train_moons",
                        lambda *args: calls.append(args) or train(40, 5, quiet=True))
    demo.main(str(tmp_path))
    printed = capsys.readouterr().out
    assert calls and "gradcheck: every derivative agrees" in printed  # the engine tour ran
    assert "Accuracy reached" in printed
