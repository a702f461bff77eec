"""Run the notebooks and keep their stored outputs honest.

    python notebooks/execute.py [notebook.ipynb ...]     (`make notebooks` runs it on all)

executes each notebook top to bottom in a fresh kernel (working in a temporary folder, as the
tests do) and writes it back in place with its new outputs, without the volatile `execution`
timestamps nbclient adds. tests/test_notebooks.py runs the same `execute` and compares the
result with the committed file through `text_outputs`: what a reader sees as text (printed
lines, results, errors), with images reduced to their kind, so a stale notebook fails the
tests. A cell whose output legitimately changes from run to run (a timing) carries the tag
`volatile-output` in its metadata and is not compared.
"""

import contextlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat

VOLATILE_TAG = "volatile-output"
IMAGES = ("image/png", "image/svg+xml", "image/jpeg", "application/pdf")
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")
REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def _this_checkout_first():
    """The kernel imports autograd, nn and viz from this checkout, whatever copy an editable
    install elsewhere points the environment at (PYTHONPATH comes before site-packages)."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), before]))
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before


def execute(notebook, timeout=600):
    """Execute `notebook` (a path or a NotebookNode) in a fresh kernel; returns it executed.
    Raises nbclient's CellExecutionError on the first failing cell."""
    if not isinstance(notebook, nbformat.NotebookNode):
        notebook = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory() as folder, _this_checkout_first():
        nbclient.NotebookClient(
            notebook, timeout=timeout, kernel_name="python3",
            resources={"metadata": {"path": folder}},
        ).execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # wall-clock timestamps: different every run
    return notebook


def _output_text(output):
    kind = output.get("output_type")
    if kind == "stream":
        return f"{output.get('name')}: {output.get('text', '')}"
    if kind == "error":
        return f"error: {output.get('ename')}: {output.get('evalue')}"
    data = output.get("data", {})
    images = [mime for mime in IMAGES if mime in data]
    if images:
        return "[" + ", ".join(images) + "]"  # a figure: its bytes vary, its kind must not
    if "application/vnd.jupyter.widget-view+json" in data:
        return "[widget]"  # its model id is random
    if "text/plain" in data:
        return _ADDRESS.sub(" at 0x…", data["text/plain"])
    return "[" + ", ".join(sorted(data)) + "]"


def text_outputs(notebook):
    """One entry per code cell (not tagged volatile): its source's first line and the text of
    its outputs, consecutive stream chunks joined (the kernel may split a print anywhere)."""
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or VOLATILE_TAG in cell.metadata.get("tags", []):
            continue
        texts = []
        for output in cell.get("outputs", []):
            text = _output_text(output)
            if texts and text.startswith(("stdout: ", "stderr: ")) and texts[-1][:8] == text[:8]:
                texts[-1] += text[8:]
            else:
                texts.append(text)
        first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
        cells.append((index, first_line, texts))
    return cells


def differences(committed, fresh):
    """The cells whose text outputs differ between two versions of a notebook, as readable
    lines; empty when the committed outputs are what a fresh run prints."""
    lines = []
    old, new = text_outputs(committed), text_outputs(fresh)
    if [c[:2] for c in old] != [c[:2] for c in new]:
        return ["the notebook's code cells differ (re-run `make notebooks`)"]
    for (index, first, before), (_, _, after) in zip(old, new):
        if before != after:
            lines.append(f"cell {index} ({first[:60]!r}):\n  committed: {before!r}\n"
                         f"  fresh run: {after!r}")
    return lines


def main(paths):
    paths = paths or sorted(Path(__file__).parent.glob("*.ipynb"))
    for path in map(Path, paths):
        start = time.perf_counter()
        notebook = execute(path)
        nbformat.write(notebook, path)
        print(f"{path.name}: executed in {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
