"""The README's Python examples run as printed (in a scratch folder, quietly)."""

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(source, tmp_path, monkeypatch):
    if "widget()" in source:
        pytest.importorskip("ipywidgets")
    if "render(" in source or "draw_dot(" in source:
        pytest.importorskip("graphviz")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme_example"}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(source, str(README), "exec"), namespace)  # our own README, not user text
    for name, value in namespace.items():
        if name.startswith("test_") and callable(value):
            value()  # the example test function passes too
    assert os.listdir(tmp_path) or "render(" not in source
