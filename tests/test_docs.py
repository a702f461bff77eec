"""The documentation site builds with warnings as errors (mkdocs --strict), as `make docs` does.

The op-table page is generated from ``autograd.ops.OPS`` at build time (docs/hooks.py); the
API reference comes from the docstrings (mkdocstrings); the README is the guide and the
notebooks are rendered without being executed.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _hooks():
    """docs/hooks.py, loaded under a name of its own."""
    path = ROOT / "docs" / "hooks.py"
    spec = importlib.util.spec_from_file_location("chainrule_docs_hooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_op_page_is_generated_from_the_table():
    pytest.importorskip("mkdocs")
    from autograd.ops import OPS

    page = _hooks().ops_page()
    for key, op in OPS.items():
        assert f"| `{key}` |" in page
        assert op.describe() in page
        for name, formula in zip(op.inputs, op.formulas()):
            assert f"∂out/∂{name} = {formula.replace('|', chr(92) + '|')}" in page


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    index = (site / "index.html").read_text()
    assert "Taking a model to PyTorch" in index and "neuron_forward.svg" in index
    assert (site / "notebooks" / "figures" / "neuron_forward.svg").exists()
    ops = (site / "ops" / "index.html").read_text()
    assert "1 - out²" in ops  # tanh's derivative, printed from its rule
    api = {p: (site / "api" / p / "index.html").read_text() for p in ("autograd", "nn", "viz")}
    assert "gradcheck" in api["autograd"] and "Value" in api["autograd"]
    assert "from_torch" in api["nn"] and "MLP" in api["nn"]
    assert "draw_dot" in api["viz"] and "Stepper" in api["viz"]
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        assert (site / "notebooks" / notebook.stem / "index.html").exists(), notebook.name
    assert not (ROOT / ".cache").exists()  # nothing written into the repository
