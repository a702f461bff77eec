"""The README's Python examples run as printed (in a scratch folder, quietly)."""

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.S)


def run_example(source, folder, monkeypatch):
    """Run one README block in `folder` as a reader would paste it; any error propagates."""
    if "widget()" in source:
        pytest.importorskip("ipywidgets")
    if "render(" in source or "draw_dot(" in source:
        pytest.importorskip("graphviz")
    monkeypatch.chdir(folder)
    namespace = {"__name__": "readme_example"}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(source, str(README), "exec"), namespace)  # our own README, not user text
        for name, value in namespace.items():
            if name.startswith("test_") and callable(value):
                value()  # the example test function passes too
    assert os.listdir(folder) or "render(" not in source, "render() wrote no file"


def test_every_python_block_of_the_readme_is_run():
    # Every fence that opens a Python block (any spelling) is one of the examples run below,
    # and there are some: an empty parameter set would skip silently.
    openings = re.findall(r"^```[ \t]*(py|python|python3|pycon)\b[^\n]*$", TEXT, re.M)
    assert BLOCKS and len(openings) == len(BLOCKS), openings


def test_a_failing_example_fails(tmp_path, monkeypatch):
    with pytest.raises(ZeroDivisionError):
        run_example("x = 1 / 0\n", tmp_path, monkeypatch)
    with pytest.raises(AssertionError):
        run_example("def test_it():\n    assert 1 + 1 == 3\n", tmp_path, monkeypatch)
    with pytest.raises(AssertionError, match="wrote no file"):
        run_example("def render(*args):\n    pass\nrender(1, 'graph.svg')\n", tmp_path, monkeypatch)


def _marks(source):
    return [pytest.mark.slow] if "fit(" in source else []  # a training run takes seconds


@pytest.mark.parametrize("source", [
    pytest.param(source, marks=_marks(source), id=f"block{i}") for i, source in enumerate(BLOCKS)
])
def test_readme_example_runs(source, tmp_path, monkeypatch):
    run_example(source, tmp_path, monkeypatch)
