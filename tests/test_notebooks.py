"""Every notebook runs top to bottom in a fresh kernel, offline; a failing cell fails its test,
and so does a committed output a fresh run no longer prints (`make notebooks` regenerates them)."""

import importlib.util
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
_spec = importlib.util.spec_from_file_location("notebook_execute", ROOT / "notebooks/execute.py")
execute = importlib.util.module_from_spec(_spec)  # notebooks/execute.py: `make notebooks`
_spec.loader.exec_module(execute)


def run(notebook, folder):
    """Execute every cell in a fresh kernel working in `folder`; raises on the first error."""
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": folder}}
    )
    client.execute()  # raises CellExecutionError naming the cell and its traceback


def test_the_notebooks_the_readme_lists_are_the_ones_run():
    # An empty parameter set would skip silently; a notebook the README links but that is
    # missing (or one in notebooks/ the README does not list) fails here instead.
    linked = re.findall(r"\]\(notebooks/([^)/]+\.ipynb)\)", (ROOT / "README.md").read_text())
    assert NOTEBOOKS and sorted(linked) == [p.name for p in NOTEBOOKS]


def test_a_failing_cell_fails_the_run(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("assert x == 2, 'the claim does not hold'"),
    ])
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="the claim does not hold"):
        run(notebook, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_and_its_outputs_are_current(path):
    # One run does both: a failing cell fails it, and so does a committed output that a fresh
    # run no longer prints (text, numbers as printed; images' bytes and counts are ignored).
    committed = nbformat.read(path, as_version=4)
    fresh = execute.execute(nbformat.read(path, as_version=4))
    stale = execute.differences(committed, fresh)
    assert not stale, (f"{path.name}'s committed outputs are stale; run `make notebooks`:\n"
                       + "\n".join(stale))


@pytest.mark.slow  # starts a kernel
def test_a_stale_output_is_caught_and_volatile_details_are_not():
    code = "print(round(0.1 + 0.2, 3))\nfrom IPython.display import Image"
    committed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    fresh = execute.execute(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]))
    assert execute.differences(committed, fresh)  # no outputs stored: stale
    committed = nbformat.from_dict(nbformat.v4.new_notebook(cells=fresh.cells))
    assert not execute.differences(committed, fresh)
    assert "execution" not in fresh.cells[0].metadata  # no timestamps to churn
    committed.cells[0].outputs[0].text = "0.31\n"
    assert "0.31" in execute.differences(committed, fresh)[0]
    # an image's bytes, execution counts and a tagged cell's output are not compared
    png = nbformat.v4.new_output("display_data", {"image/png": "AAAA", "text/plain": "<Fig>"})
    other = nbformat.v4.new_output("display_data", {"image/png": "BBBB", "text/plain": "<F>"})
    one = nbformat.v4.new_code_cell("plot()", outputs=[png], execution_count=1)
    two = nbformat.v4.new_code_cell("plot()", outputs=[other], execution_count=7)
    timing = nbformat.v4.new_code_cell(
        "time()", outputs=[nbformat.v4.new_output("stream", text="1.2 s\n")],
        metadata={"tags": [execute.VOLATILE_TAG]})
    retimed = nbformat.v4.new_code_cell(
        "time()", outputs=[nbformat.v4.new_output("stream", text="1.9 s\n")],
        metadata={"tags": [execute.VOLATILE_TAG]})
    assert not execute.differences(nbformat.v4.new_notebook(cells=[one, timing]),
                                   nbformat.v4.new_notebook(cells=[two, retimed]))


def _png_size(data):
    import base64
    import struct

    header = base64.b64decode(data[:64])
    return struct.unpack(">II", header[16:24])  # the IHDR chunk: width, height


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_titles_and_figures_are_consistent(path):
    # One title style, '# 7 · Regularization', and every stored PNG drawn at twice the size it
    # is shown (retina: 200 dpi for the 100 dpi figure size), so figures stay sharp.
    notebook = nbformat.read(path, as_version=4)
    title = notebook.cells[0].source.splitlines()[0]
    assert re.match(rf"# {int(path.name[:2])} · \S", title), title
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                width, _ = _png_size(output["data"]["image/png"])
                shown = output.get("metadata", {}).get("image/png", {}).get("width")
                assert shown and width >= 1.9 * shown, (path.name, index, width, shown)
