"""mkdocs hooks: the site is built from the repository as it is, with nothing copied by hand.

- the README becomes the home page (``index.md``), its pictures and notebook links intact:
  ``notebooks/*.ipynb`` (rendered by mkdocs-jupyter, not executed) and ``notebooks/figures``
  are added to the site under the same paths;
- ``ops.md`` is generated from the op table, ``autograd.ops.OPS``: every op's name, inputs,
  parameter and derivative formulas come from the table itself (``Op.formulas()``,
  ``Op.describe()``), so the page cannot fall behind it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent


def _table_cell(text: str) -> str:
    return text.replace("|", "\\|")


def ops_page() -> str:
    """The op table as Markdown, generated from ``autograd.ops.OPS``."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from autograd.ops import OPS

    lines = [
        "# The op table",
        "",
        "Every operation is defined once, in `autograd.ops.OPS`: its name, its forward",
        "function and one derivative rule per input. The eager backward pass, higher-order",
        "gradients, the batched tape, the diagrams' edge labels and this page all read it.",
        "The formulas below are printed by evaluating each rule on symbols",
        "(`Op.formulas()`); `out` is the op's result. This page is generated when the docs",
        "are built.",
        "",
        "| key | shown as | inputs | parameter | called as | local derivatives |",
        "|---|---|---|---|---|---|",
    ]
    for key, op in OPS.items():
        derivatives = "<br>".join(
            f"∂out/∂{name} = {formula}" for name, formula in zip(op.inputs, op.formulas())
        )
        called = f"`Value.{op.method}()`" if op.method else "operator"
        lines.append(
            f"| `{key}` | `{_table_cell(op.name)}` | {', '.join(op.inputs)} | "
            f"{op.param_name or ''} | {called} | {_table_cell(derivatives)} |"
        )
    lines += ["", "As `Op.describe()` prints them:", "", "```text"]
    lines += [op.describe() for op in OPS.values()]
    lines += ["```", ""]
    return "\n".join(lines)


@event_priority(100)  # before mkdocs-jupyter looks for notebooks among the files
def on_files(files, config):
    files.append(File.generated(config, "index.md",
                                content=(ROOT / "README.md").read_text(encoding="utf-8")))
    files.append(File.generated(config, "ops.md", content=ops_page()))
    notebooks = ROOT / "notebooks"
    for path in sorted(notebooks.glob("*.ipynb")) + sorted((notebooks / "figures").iterdir()):
        if path.is_file() and path.suffix in {".ipynb", ".svg", ".png"}:
            # a File read from the repository root (not File.generated: mkdocs-jupyter
            # finds a notebook's path through its src_dir)
            files.append(File(path.relative_to(ROOT).as_posix(), src_dir=str(ROOT),
                              dest_dir=config.site_dir,
                              use_directory_urls=config.use_directory_urls))
    return files
