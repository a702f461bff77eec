"""`draw_dot`: a Value's graph as a graphviz.Digraph, forward, backward or both.

Every Value is a box and every op an ellipse between its inputs and its result. In the
backward view each input edge carries the local derivative that the chain rule
multiplies (its formula from the op table and its number) and what it passes back:
``input.grad += out.grad × ∂out/∂input``.
"""

from __future__ import annotations

import graphviz

from autograd import topological_order

from . import graph as _graph
from . import modules as _modules
from .style import (
    ACTIVE_EDGE,
    EDGE_TEXT,
    FONT,
    KIND_ATTRS,
    MAX_LABEL,
    PENDING_TEXT,
    Row,
    fmt,
    label,
)

MODES = ("forward", "backward", "both")


def check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}; got {mode!r}")
    return mode


class Graph(graphviz.Digraph):
    """A graphviz.Digraph that shows itself in Jupyter even without Graphviz's `dot`.

    It renders through `viz.render.svg`, which falls back to Graphviz compiled to
    WebAssembly, and when neither is there it shows its DOT source and what to install.
    """

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        from .render import RenderUnavailable, svg

        try:
            return {"image/svg+xml": svg(self)}
        except RenderUnavailable as error:
            return {"text/plain": f"{error}\n\n{self.source}"}


class Painter:
    """What a diagram writes in and around each node; this one reads the Values as they are.

    The stepper subclasses it to show a graph part-way through a forward or backward pass.
    """

    cell_width = None  # points; the stepper fixes it so frames keep one layout
    always_two_rows = False

    def __init__(self, mode):
        self.mode = check_mode(mode)
        self.show_data = mode in ("forward", "both")
        self.show_grad = mode in ("backward", "both")

    def data(self, node):
        return node.data

    def grad(self, node):
        return node.grad

    def local(self, node, k):
        """∂node/∂(its k-th input) as a float, or None where it is undefined."""
        return _graph.local_gradients(node)[k]

    def known(self, node):
        """Whether the forward pass has computed `node` (so its local derivatives are known)."""
        return True

    def passed_back(self, node):
        """The gradient `node` passes back to its inputs (its own), or None if not yet."""
        return self.grad(node)

    def edge_width(self, node, k):
        return None

    def node_attrs(self, node):
        return {}

    def op_attrs(self, node):
        return {}

    def edge_attrs(self, node, k):
        return {}

    def note(self, plan):
        if self.show_grad and all(r.grad == 0.0 for r in plan.roots):
            return "no backward pass yet: call .backward() on the output to fill in the gradients"
        return ""


def draw_dot(
    root,
    mode="both",
    *,
    model=None,
    params=(),
    collapse="auto",
    max_nodes=300,
    on_overflow="collapse",
    rankdir="LR",
) -> Graph:
    """Draw the graph that computed `root` (a Value, or a list of Values).

    mode: "forward" shows each Value's label and data; "backward" its gradient and, on
      every edge, the local derivative and the gradient passed back; "both" all of it.
    model: an nn Module whose forward pass built the graph; its neurons and layers are
      drawn as clusters. collapse: "auto" (collapse modules only to fit max_nodes),
      "none", "neurons" or "layers".
    params: leaves to draw as parameters when there is no model (a hand-built neuron's
      weights); a model's parameters are found by themselves.
    max_nodes: the most Graphviz nodes to draw (None: no limit). A larger graph is
      collapsed (modules first, then only the part nearest the output is drawn, with a
      note saying how much was left out) or, with on_overflow="raise", refused with a
      ValueError.
    """
    painter = Painter(mode)
    plan = make_plan(root, model=model, params=params, collapse=collapse,
                     max_nodes=max_nodes, on_overflow=on_overflow)
    return build(plan, painter, rankdir=rankdir)


def make_plan(root, *, model=None, params=(), collapse="auto", max_nodes=300,
              on_overflow="collapse"):
    """Decide which Values a diagram draws and how (see `draw_dot`)."""
    if on_overflow not in ("collapse", "raise"):
        raise ValueError(f"on_overflow must be 'collapse' or 'raise'; got {on_overflow!r}")
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 2):
        raise ValueError(f"max_nodes must be an int of at least 2, or None; got {max_nodes!r}")
    roots = _graph.as_roots(root)
    order = topological_order(roots)
    plan = _graph.Plan(order, roots)
    if model is not None:
        _modules.attach(plan, model, collapse, max_nodes)
    elif collapse not in ("auto", "none"):
        raise ValueError(f"collapse={collapse!r} needs the model: draw_dot(root, model=model)")
    plan.params |= _graph.as_params(params)
    if max_nodes is None or plan.count() <= max_nodes:
        return plan
    values = len(order)
    ops = values - sum(1 for v in order if v.is_leaf)
    if on_overflow == "raise":
        raise ValueError(
            f"draw_dot: the graph has {values + ops:,} nodes to draw ({values:,} values and "
            f"{ops:,} ops), more than max_nodes={max_nodes}. Pass max_nodes=None to draw "
            f"them all (Graphviz may take minutes), model=... to group an nn model's neurons "
            f"into clusters, on_overflow='collapse' to draw only the part nearest the "
            f"output, or draw a smaller sub-expression."
        )
    return _graph.nearest(order, roots, max_nodes, plan.params)


def _number_row(name, number, painter):
    if number is None:
        return Row(f"{name} ?", PENDING_TEXT, width=painter.cell_width)
    return Row(f"{name} {fmt(number)}", width=painter.cell_width)


def _value_rows(node, painter):
    rows = [Row(node.label, bold=True, limit=MAX_LABEL)] if node.label else []
    if painter.show_data:
        rows.append(_number_row("data", painter.data(node), painter))
    if painter.show_grad:
        rows.append(_number_row("grad", painter.grad(node), painter))
    return rows


def _op_rows(node):
    op = node.grad_fn
    rows = [Row(op.name, bold=True)]
    if op.param_name and node.param is not None:
        rows.append(Row(f"{op.param_name}={fmt(node.param)}"))
    return rows


def _edge_rows(node, k, painter):
    op = node.grad_fn
    if not painter.show_grad:
        if op.arity == 2 and not op.commutative:
            return [Row(op.inputs[k])]
        return []
    width = painter.edge_width(node, k)
    if painter.known(node):
        local = painter.local(node, k)
        number = "undefined" if local is None else fmt(local)
    else:
        local, number = None, "?"
    formula = op.formulas(param=node.param)[k]
    rows = [Row(f"∂out/∂{op.inputs[k]} = {formula} = {number}", EDGE_TEXT, width=width)]
    g = painter.passed_back(node)
    if g is not None and local is not None:
        rows.append(Row(f"grad += {fmt(g)} × {fmt(local)} = {fmt(g * local)}", width=width))
    elif painter.always_two_rows or g is not None:
        rows.append(Row("grad += ?", PENDING_TEXT, width=width))
    return rows


def build(plan, painter, rankdir="LR", name="chainrule", html_like=True) -> Graph:
    """The Digraph of a Plan, written by a Painter (with plain-text labels if not html_like)."""
    g = Graph(name=name)
    g.plain_source = lambda: build(plan, painter, rankdir, name, html_like=False).source
    g.attr(rankdir=rankdir, fontname=FONT, fontsize="11", nodesep="0.25", ranksep="0.35")
    g.attr("node", fontname=FONT, fontsize="12", margin="0.08,0.04")
    g.attr("edge", fontname=FONT, fontsize="10", arrowsize="0.7")
    if painter.show_grad and not painter.show_data:
        g.attr("edge", dir="back")  # the arrows show the gradient flowing back
    roots = set(plan.roots)
    index = plan.index
    boxes = _modules.containers(plan, html_like)

    def lab(rows):
        return label(rows, html_like)

    def node_id(node):
        group = plan.shown_as(node)
        if group is not None:
            return group.node_id
        return f"v{index[node]}" if node in index else "more"

    edges = set()
    for node in plan.order:
        if plan.shown_as(node) is not None:
            continue
        i = index[node]
        box = boxes.get(plan.owner.get(node), g)
        kind = _graph.kind(node, roots, plan.params)
        box.node(f"v{i}", lab(_value_rows(node, painter)),
                 **{**KIND_ATTRS[kind], **painter.node_attrs(node)})
        if node.is_leaf:
            continue
        box.node(f"o{i}", lab(_op_rows(node)),
                 **{**KIND_ATTRS["op"], **painter.op_attrs(node)})
        g.edge(f"o{i}", f"v{i}", **painter.edge_attrs(node, None))
        for k, parent in enumerate(node.parents):
            src = node_id(parent)
            if src == "more":
                if ("more", i) not in edges:
                    edges.add(("more", i))
                    g.edge("more", f"o{i}", style="dashed")
                continue
            if src.startswith("g"):  # a collapsed module: one edge per op it feeds
                if (src, i) not in edges:
                    edges.add((src, i))
                    g.edge(src, f"o{i}")
                continue
            rows = _edge_rows(node, k, painter)
            extra = {"label": lab(rows)} if rows else {}
            g.edge(src, f"o{i}", **{**extra, **painter.edge_attrs(node, k)})
    _modules.draw_collapsed(plan, g, boxes, node_id, painter, lab)
    if plan.hidden:
        g.node("more", lab([
            Row(f"⋯ {plan.hidden:,} earlier values ({plan.hidden_ops:,} ops) not drawn",
                bold=True),
            Row("draw_dot(..., max_nodes=None) draws them all"),
        ]), **KIND_ATTRS["more"])
    note = painter.note(plan)
    if note:
        g.attr(label=lab([Row(note, PENDING_TEXT)]), labelloc="b")
    _modules.assemble(plan, g, boxes)
    return g


__all__ = ["draw_dot", "Graph", "Painter", "build", "make_plan", "MODES", "ACTIVE_EDGE"]
