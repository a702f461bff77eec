"""`draw_dot`: a Value's graph as a graphviz.Digraph, forward, backward or both.

Every Value is a box and every op an ellipse between its inputs and its result. Each box
shows the Value's name (its label, else the expression that made it, else a generated
``t1``). In the backward view each input edge carries the local derivative that the chain
rule multiplies, written with the graph's own names (``∂o/∂n = 1 - o² = 0.5``), and what
it passes back: ``grad += out.grad × local derivative``. A legend says what the shapes,
colours and edge labels mean.

Every element has a stable id (``v3`` the third Value's box, ``o3`` its op, ``e3_0`` the
edge from the op's first input), and every text row keeps its place, so the stepper can
draw the graph once and change texts and classes from frame to frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import graphviz

from autograd import Value, topological_order

from . import graph as _graph
from . import modules as _modules
from .graph import Plan, Roots
from .legend import legend_rows
from .modules import Model
from .names import in_formula, short_names
from .style import FONT, KIND_ATTRS, MAX_LABEL, Row, fmt, label

MODES = ("forward", "backward", "both")
GHOST_USES = 6  # a Value used more often is drawn again beside each use: the layout stays linear


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}; got {mode!r}")
    return mode


class Graph(graphviz.Digraph):
    """A graphviz.Digraph that shows itself in Jupyter even without Graphviz's `dot`.

    It renders through `viz.render.svg`, which has a time limit and falls back to Graphviz
    compiled to WebAssembly; when neither can render it, it shows its DOT source and what
    to install. `plain_source()` is the same drawing with plain-text labels, for Graphviz
    builds without HTML-like labels (the WebAssembly one).
    """

    def __init__(self, *args: Any, plain: Callable[[], Graph] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain = plain  # makes the plain-label twin on demand

    def plain_source(self) -> str:
        return self._plain().source if self._plain is not None else self.source

    def _repr_mimebundle_(
        self, include: object = None, exclude: object = None, **_: object
    ) -> dict[str, str]:
        from .render import RenderUnavailable, svg

        try:
            return {"image/svg+xml": svg(self)}
        except (RenderUnavailable, TimeoutError) as error:
            return {"text/plain": f"{error}\n\n{self.source}"}


class Painter:
    """What a diagram writes in each node and on each edge; this one reads the Values as
    they are. The stepper's frames subclass it to show a graph part-way through a pass.

    Tones ("pending", "partial", "final") say how a number reads: not known yet, a sum
    still collecting terms, or done.
    """

    cell_width: int | None = None  # points; the stepper fixes it so frames fit one layout
    always_two_rows = False

    def __init__(self, mode: str) -> None:
        self.mode = check_mode(mode)
        self.show_data = mode in ("forward", "both")
        self.show_grad = mode in ("backward", "both")

    def data(self, node: Value) -> float | None:
        return node.data

    def grad(self, node: Value) -> float | None:
        return node.grad

    def grad_tone(self, node: Value) -> str | None:
        return None

    def local(self, node: Value, k: int) -> float | None:
        """∂node/∂(its k-th input) as a float, or None where it is undefined."""
        return _graph.local_gradients(node)[k]

    def known(self, node: Value) -> bool:
        """Whether the forward pass has computed `node` (so its local derivatives are known)."""
        return True

    def passed_back(self, node: Value) -> float | None:
        """The gradient `node` passes back to its inputs (its own), or None if not yet."""
        return self.grad(node)

    def edge_width(self, node: Value, k: int) -> int | None:
        return None

    def note(self, plan: Plan) -> str:
        if self.show_grad and all(r.grad == 0.0 for r in plan.roots):
            return "no backward pass yet: call .backward() on the output to fill in the gradients"
        return ""


def draw_dot(
    root: Roots,
    mode: str = "both",
    *,
    model: Model | None = None,
    params: Value | Iterable[Value] = (),
    collapse: str = "auto",
    max_nodes: int | None = 300,
    on_overflow: str = "collapse",
    rankdir: str = "LR",
    legend: bool | None = None,
) -> Graph:
    """Draw the graph that computed `root` (a Value, or a list of Values).

    mode: "forward" shows each Value's name and data; "backward" its gradient and, on
      every edge, the local derivative and the gradient passed back; "both" all of it.
    model: an nn Module whose forward pass built the graph (or a `viz.record_calls` of it); its
      neurons and layers are drawn as clusters. collapse: "auto" (collapse modules only
      to fit max_nodes), "none", "neurons" or "layers".
    params: leaves to draw as parameters besides those found by themselves (nn's
      `Parameter`s are; a hand-built neuron's weights are plain Values).
    max_nodes: the most Graphviz nodes to draw (None: no limit). A larger graph is
      collapsed (modules first, then only the part nearest the output is drawn, with a
      note saying how much was left out) or, with on_overflow="raise", refused with a
      ValueError.
    legend: whether to add the legend; by default it is shown in the backward and both
      views, where the edge labels need explaining.
    """
    painter = Painter(mode)
    plan = make_plan(root, model=model, params=params, collapse=collapse,
                     max_nodes=max_nodes, on_overflow=on_overflow)
    if legend is None:
        legend = painter.show_grad
    return build(plan, painter, rankdir=rankdir, legend=legend)


def make_plan(root: Roots, *, model: Model | None = None,
              params: Value | Iterable[Value] = (), collapse: str = "auto",
              max_nodes: int | None = 300, on_overflow: str = "collapse") -> Plan:
    """Decide which Values a diagram draws and how (see `draw_dot`)."""
    if on_overflow not in ("collapse", "raise"):
        raise ValueError(f"on_overflow must be 'collapse' or 'raise'; got {on_overflow!r}")
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 2):
        raise ValueError(f"max_nodes must be an int of at least 2, or None; got {max_nodes!r}")
    roots = _graph.as_roots(root)
    order = topological_order(roots)
    plan = _graph.Plan(order, roots, params=_graph.found_params(order))
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


# --- what each element says ------------------------------------------------------------


def value_rows(node: Value, name: str, painter: Painter, kind: str) -> list[Row]:
    """The rows of a Value's box: its name, then its data and gradient as the view shows."""
    rows = [Row(name, bold=True, limit=MAX_LABEL)]
    if painter.show_data and kind != "constant":
        rows.append(_number_row("data", painter.data(node), painter))
    if painter.show_grad:
        rows.append(_number_row("grad", painter.grad(node), painter, painter.grad_tone(node)))
    return rows


def _number_row(name, number, painter, tone=None):
    if number is None:
        return Row(f"{name} ?", tone="pending", width=painter.cell_width)
    return Row(f"{name} {fmt(number)}", tone=tone, width=painter.cell_width)


def op_rows(node: Value) -> list[Row]:
    op = node.grad_fn
    assert op is not None
    rows = [Row(op.name, bold=True)]
    if op.param_name and node.param is not None:
        rows.append(Row(f"{op.param_name}={fmt(node.param)}"))
    return rows


def edge_formula(node: Value, k: int, names: dict[Value, str]) -> str:
    """``∂o/∂n = 1 - o²``: the derivative along the edge from input k, in the graph's names."""
    op = node.grad_fn
    assert op is not None
    named = {"out": in_formula(names[node])}
    named.update((v, in_formula(names[p])) for v, p in zip(op.inputs, node.parents))
    formula = op.formulas(named, param=node.param)[k]
    return f"∂{named['out']}/∂{in_formula(names[node.parents[k]])} = {formula}"


def with_number(formula: str, number: float) -> str:
    """``formula = number``, without saying the number twice (``∂n/∂b = 1``, not ``= 1 = 1``)."""
    text = fmt(number)
    return formula if formula.endswith(f"= {text}") else f"{formula} = {text}"


def edge_rows(node: Value, k: int, names: dict[Value, str], painter: Painter) -> list[Row]:
    """The rows on the edge from `node`'s k-th input into its op."""
    op = node.grad_fn
    assert op is not None
    if not painter.show_grad:
        if op.arity == 2 and not op.commutative:
            return [Row(("1st", "2nd")[k])]  # which side of -, / or ** the input is on
        return []
    width = painter.edge_width(node, k)
    formula = edge_formula(node, k, names)
    local = painter.local(node, k) if painter.known(node) else None
    if not painter.known(node):
        first = Row(f"{formula} = ?", "formula", width=width)
    elif local is None:
        first = Row(f"{formula}: undefined here", "formula", width=width)
    else:
        first = Row(with_number(formula, local), "formula", width=width)
    g = painter.passed_back(node)
    if g is not None and local is not None:
        second = Row(f"grad += {fmt(g)} × {fmt(local)} = {fmt(g * local)}", width=width)
    elif painter.always_two_rows or g is not None:
        second = Row("grad += ?", tone="pending", width=width)
    else:
        return [first]
    return [first, second]


# --- the drawing -----------------------------------------------------------------------


def value_id(i: int) -> str:
    return f"v{i}"


def op_id(i: int) -> str:
    return f"o{i}"


def ghost_id(i: int, user: int) -> str:
    return f"v{i}u{user}"


def edge_id(i: int, k: int) -> str:
    return f"e{i}_{k}"


class _Builder:
    """Writes one Plan as a Digraph; `html_like=False` gives plain-text labels."""

    def __init__(self, plan, painter, names, html_like, id_prefix=""):
        self.prefix = id_prefix  # keeps ids unique when several drawings share a page
        self.plan = plan
        self.painter = painter
        self.names = names
        self.html_like = html_like
        self.roots = set(plan.roots)
        self.ghosted = ghosted(plan)
        self.collapsed_edges = set()

    def label(self, rows):
        return label(rows, self.html_like)

    def source_id(self, parent: Value, user: int | str) -> str:
        """The id of the element an edge from `parent` into `user` starts at: op `user` (its
        index), or a collapsed module (its node id), which has no copy of its own."""
        group = self.plan.shown_as(parent)
        if group is not None:
            return group.node_id
        if parent not in self.plan.index:
            return _graph.LEFT_OUT
        i = self.plan.index[parent]
        if parent in self.ghosted and isinstance(user, int):
            return ghost_id(i, user)
        return value_id(i)

    def draw(self, rankdir, name, legend, legend_rows=None, plain=None) -> Graph:
        g = Graph(name=name, plain=plain)
        g.attr(rankdir=rankdir, fontname=FONT, fontsize="11", nodesep="0.25", ranksep="0.35")
        g.attr("node", fontname=FONT, fontsize="12", margin="0.08,0.04")
        g.attr("edge", fontname=FONT, fontsize="10", arrowsize="0.7")
        if self.painter.show_grad and not self.painter.show_data:
            g.attr("edge", dir="back")  # the arrows show the gradient flowing back
        boxes = _modules.containers(self.plan, self.html_like)
        for node in self.plan.order:
            if self.plan.shown_as(node) is None:
                self.draw_value(node, boxes.get(self.plan.owner.get(node), g), g)
        _modules.draw_collapsed(self.plan, g, boxes, self.source_id, self.painter, self.label,
                                self.prefix)
        if self.plan.hidden:
            g.node(_graph.LEFT_OUT, self.label([
                Row(f"⋯ {self.plan.hidden:,} earlier values ({self.plan.hidden_ops:,} ops) "
                    "not drawn", bold=True),
                Row("draw_dot(..., max_nodes=None) draws them all"),
            ]), **KIND_ATTRS["more"])
        self.draw_caption(g, legend, legend_rows)
        _modules.assemble(self.plan, g, boxes)
        return g

    def draw_value(self, node, box, g):
        i = self.plan.index[node]
        kind = _graph.kind(node, self.roots, self.plan.params)
        rows = self.label(value_rows(node, self.names[node], self.painter, kind))
        box.node(value_id(i), rows, id=self.prefix + value_id(i), **KIND_ATTRS[kind])
        if node in self.ghosted:
            for user in self.ghosted[node]:
                box.node(ghost_id(i, user), rows, id=self.prefix + ghost_id(i, user),
                         **{**KIND_ATTRS[kind], **KIND_ATTRS["ghost"]})
        if node.is_leaf:
            return
        box.node(op_id(i), self.label(op_rows(node)), id=self.prefix + op_id(i),
                 **KIND_ATTRS["op"])
        g.edge(op_id(i), value_id(i), id=f"{self.prefix}r{i}")
        for k, parent in enumerate(node.parents):
            self.draw_input_edge(node, i, k, parent, g)

    def draw_input_edge(self, node, i, k, parent, g):
        source = self.source_id(parent, i)
        if source == _graph.LEFT_OUT or self.plan.shown_as(parent) is not None:
            # into a collapsed module or the "not drawn" note: one plain edge per op
            if (source, i) not in self.collapsed_edges:
                self.collapsed_edges.add((source, i))
                g.edge(source, op_id(i), style="dashed" if source == _graph.LEFT_OUT else "solid")
            return
        rows = edge_rows(node, k, self.names, self.painter)
        extra = {"label": self.label(rows)} if rows else {}
        g.edge(source, op_id(i), id=self.prefix + edge_id(i, k), **extra)

    def draw_caption(self, g, legend, given_legend=None):
        rows = []
        note = self.painter.note(self.plan)
        if note:
            rows.append(Row(note, tone="pending", limit=200))
        if legend:
            rows += given_legend or legend_rows(self.plan, self.painter, self.ghosted)
        if rows:
            g.attr(label=self.label(rows), labelloc="b", labeljust="l")


def ghosted(plan: Plan) -> dict[Value, list[int]]:
    """{Value: the ops that use it} for the drawn Values used more than GHOST_USES times."""
    users: dict = {}
    for node in plan.order:
        if plan.shown_as(node) is not None:
            continue
        for parent in node.parents:
            users.setdefault(parent, {})[plan.index[node]] = None
    return {
        node: list(ops) for node, ops in users.items()
        if len(ops) > GHOST_USES and node in plan.index and plan.shown_as(node) is None
    }


def build(plan: Plan, painter: Painter, rankdir: str = "LR", name: str = "chainrule",
          legend: bool = False, names: dict[Value, str] | None = None, id_prefix: str = "",
          legend_rows: list[Row] | None = None) -> Graph:
    """The Digraph of a Plan, written by a Painter.

    `legend_rows`, if given, replaces the legend made for this plan and painter.
    """
    names = names if names is not None else short_names(plan.order)

    def draw(html_like: bool, plain: Callable[[], Graph] | None = None) -> Graph:
        builder = _Builder(plan, painter, names, html_like, id_prefix)
        return builder.draw(rankdir, name, legend, legend_rows, plain)

    return draw(True, plain=lambda: draw(False))


__all__ = ["draw_dot", "Graph", "Painter", "build", "make_plan", "MODES"]
