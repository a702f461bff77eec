"""How a Value shows itself in Jupyter: its graph, or past the node limit a compact summary.

A graph of a few hundred nodes is drawn whole. A bigger one (a loss over a batch) would be
a giant SVG that takes Graphviz minutes; instead the cell shows the numbers (value, grad),
what the graph is made of (op counts, leaves, parameters, depth) and a small preview of the
part nearest the output.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

from autograd import Value, topological_order

from . import graph as _graph
from .dot import draw_dot
from .style import fmt

LIMIT = 300  # Graphviz nodes drawn whole in a notebook
PREVIEW = 40  # nodes in the preview of a bigger graph


def describe(root: Value) -> dict[str, Any]:
    """What `root`'s graph is made of: counts of values, ops by name, leaves and depth."""
    order = topological_order(root)
    depth: dict = {}
    for node in order:
        depth[node] = 1 + max((depth[p] for p in node.parents), default=-1)
    leaves = [v for v in order if v.is_leaf]
    return {
        "values": len(order),
        "ops": Counter(v.op for v in order if not v.is_leaf),
        "leaves": len(leaves),
        "parameters": len(_graph.found_params(order)),
        "depth": depth[root],
        "drawn": _graph.drawn_count(order),
    }


def text_summary(root: Value, facts: dict[str, Any]) -> str:
    ops = ", ".join(f"{name} ×{count:,}" for name, count in facts["ops"].most_common())
    return (
        f"Value(data={fmt(root.data)}, grad={fmt(root.grad)}): a graph of {facts['values']:,} "
        f"values ({facts['leaves']:,} leaves, {facts['parameters']:,} parameters), "
        f"{facts['depth']} ops deep; ops: {ops or 'none'}"
    )


def mimebundle(root: Value, include: object = None, exclude: object = None) -> dict[str, Any]:
    """The Jupyter display of a Value: its graph, or a summary with a preview if too big."""
    facts = describe(root)
    if facts["drawn"] <= LIMIT:
        return draw_dot(root, mode="both")._repr_mimebundle_(include, exclude)
    summary = text_summary(root, facts)
    preview = ""
    try:
        from .render import RenderTimeout, RenderUnavailable, svg

        graph = draw_dot(root, mode="both", max_nodes=PREVIEW, legend=False)
        preview = svg(graph)
        preview = preview[preview.index("<svg"):]
    except (RenderUnavailable, RenderTimeout):
        preview = "<p>(no preview: Graphviz is not available)</p>"
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>{count:,}</td></tr>"
        for name, count in facts["ops"].most_common()
    )
    page = (
        "<div style='font-family:Helvetica,Arial,sans-serif'>"
        f"<p><b>{html.escape(summary)}</b></p>"
        f"<p>Too big to draw whole ({facts['drawn']:,} nodes, the limit is {LIMIT}). The part "
        "nearest the output:</p>"
        f"<div style='overflow:auto;max-height:420px'>{preview}</div>"
        f"<details><summary>ops</summary><table>{rows}</table></details>"
        "<p>To see more: viz.draw_dot(value, model=model, collapse='layers'), or "
        "draw_dot(value, max_nodes=None) (slow).</p></div>"
    )
    return {"text/html": page, "text/plain": summary}
