"""Step through a graph one node at a time: the forward pass, then the backward pass.

A graph of N Values gives 2·N steps. Forward, in topological order, step k computes the
k-th Value from its inputs. Backward, in reverse order, each step takes one Value whose
gradient is now final (the output's is seeded with 1) and passes it back along each input
edge, ``input.grad += out.grad × ∂out/∂input``, so a Value that feeds several others is
seen collecting one term per use. The gradients are computed here, from the op table,
independently of whatever `.grad` the Values hold.

Every frame draws the same nodes at the same sizes, so the picture does not jump.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograd import Value, topological_order

from . import graph as _graph
from .dot import Painter, build
from .style import ACTIVE_EDGE, CURRENT, fmt

PASSED_TO = {"color": "#d55e00", "penwidth": "3"}  # a node that just received a gradient term


@dataclass(frozen=True)
class Step:
    """One step of the walk."""

    index: int  # 0 .. 2N-1
    phase: str  # "forward" or "backward"
    node: Value
    caption: str


def _name(node, names):
    return names.get(node) or node.label or fmt(node.data)


def _names(order):
    """A short name for every Value: its label, else the expression that made it."""
    names = {}
    for node in order:
        if node.label:
            names[node] = node.label
        elif node.is_leaf:
            names[node] = fmt(node.data)
        else:
            args = [names[p] if len(names[p]) <= 14 else "(…)" for p in node.parents]
            op = node.grad_fn
            if op.arity == 2:
                names[node] = f"{args[0]} {op.name} {args[1]}"
            elif op.param_name:
                names[node] = f"{op.name}({args[0]}, {fmt(node.param)})"
            else:
                names[node] = f"{op.name}({args[0]})"
    return names


class Stepper:
    """The forward and backward walk through `root`'s graph.

        s = Stepper(loss)
        len(s)            # 2 × the number of Values
        s.steps[3].caption
        s.graph(3)        # the graphviz.Digraph of frame 3; s.svg(3) as SVG text
        s.to_html("walk.html")   # every frame in one self-contained page
        s.widget()        # Jupyter controls (ipywidgets)
    """

    def __init__(self, root, *, params=(), max_nodes=150):
        if not isinstance(root, Value):
            raise TypeError(f"Stepper needs a Value, got {type(root).__name__}: {root!r}")
        order = topological_order(root)
        if len(order) > max_nodes:
            raise ValueError(
                f"Stepper: the graph has {len(order)} values, so {2 * len(order)} steps; more "
                f"than max_nodes={max_nodes} values is too long to follow. Step through a "
                f"smaller piece (one neuron, one example), or pass max_nodes={len(order)}."
            )
        self.root = root
        self.order = order
        self.plan = _graph.Plan(order, [root], params=_graph.as_params(params))
        self.names = _names(order)
        self._locals = {v: _graph.local_gradients(v) for v in order}
        self._history = self._walk()
        self.steps = self._captions()

    def __len__(self):
        return len(self.steps)

    def __repr__(self):
        return f"Stepper({len(self.order)} values, {len(self)} steps)"

    # --- the walk --------------------------------------------------------------------

    def _walk(self):
        """For each backward step: (grads after it, terms per node, nodes it passed to)."""
        grads, terms, history = {}, {}, []
        for node in reversed(self.order):
            if node is self.root:
                grads[node] = 1.0
                terms[node] = [1.0]
            g = grads.get(node, 0.0)
            touched = []
            for parent, d in zip(node.parents, self._locals[node]):
                term = g * d if d is not None else float("nan")
                grads[parent] = grads.get(parent, 0.0) + term
                terms.setdefault(parent, []).append(term)
                touched.append(parent)
            history.append((dict(grads), {k: list(v) for k, v in terms.items()}, touched))
        return history

    def gradients(self) -> dict:
        """{Value: d(root)/d(Value)} at the end of the walk."""
        return dict(self._history[-1][0])

    def _captions(self):
        n, steps = len(self.order), []
        for i, node in enumerate(self.order):
            name = self.names[node]
            if node.is_leaf:
                kind = "parameter" if node in self.plan.params else (
                    "input" if node.label else "unnamed leaf")
                text = f"{name} = {fmt(node.data)} ({kind})"
            else:
                args = ", ".join(f"{self.names[p]} = {fmt(p.data)}" for p in node.parents)
                text = f"{name} = {fmt(node.data)}   [{node.grad_fn.name} of {args}]"
            steps.append(Step(i, "forward", node, f"forward {i + 1}/{n}: {text}"))
        for j, node in enumerate(reversed(self.order)):
            grads, terms, _ = self._history[j]
            g = grads.get(node, 0.0)
            name = self.names[node]
            if node is self.root:
                head = f"{name}: grad = 1 (d{name}/d{name}, the seed)"
            else:
                parts = terms.get(node, [])
                how = " + ".join(fmt(t) for t in parts)
                uses = f", the sum over its {len(parts)} uses" if len(parts) > 1 else ""
                total = f" = {fmt(g)}" if len(parts) > 1 else ""
                head = f"{name}: grad = {how}{total}{uses}" if parts else f"{name}: grad 0"
            if node.is_leaf:
                tail = "a leaf: nothing further back"
            else:
                tail = "; ".join(
                    f"{self.names[p]}.grad += {fmt(g)} × {fmt(d)}"
                    if d is not None else f"{self.names[p]}: derivative undefined here"
                    for p, d in zip(node.parents, self._locals[node])
                )
            steps.append(Step(n + j, "backward", node,
                              f"backward {j + 1}/{n}: {head}. {tail}"))
        return steps

    # --- frames ----------------------------------------------------------------------

    def _check(self, i):
        if not isinstance(i, int) or not -len(self) <= i < len(self):
            raise IndexError(f"step {i!r} is out of range: there are {len(self)} steps")
        return i % len(self)

    def graph(self, i):
        """The graphviz.Digraph of frame `i` (the state after step i)."""
        i = self._check(i)
        return build(self.plan, _FramePainter(self, i), name=f"step{i}")

    def svg(self, i) -> str:
        from .render import svg

        return svg(self.graph(i))

    def svgs(self) -> list:
        return [self.svg(i) for i in range(len(self))]

    def to_html(self, path=None, title=None):
        """The whole walk as one self-contained HTML page; written to `path` if given."""
        from .html_export import stepper_html, write_html

        if path is None:
            return stepper_html(self, title=title)
        return write_html(self, path, title=title)

    def widget(self):
        """Previous/next/play controls and a slider, for Jupyter (needs ipywidgets)."""
        from .widgets import stepper_widget

        return stepper_widget(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        try:
            return self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        except ImportError:
            return {"text/html": self.to_html(), "text/plain": repr(self)}


def _text_width(s, size=10):
    return int(len(s) * size * 0.62) + 10


class _FramePainter(Painter):
    """Shows the graph as it stands after step `i` of a Stepper."""

    cell_width = 104
    always_two_rows = True

    def __init__(self, stepper, i):
        super().__init__("both")
        self.s = stepper
        n = len(stepper.order)
        self.step = stepper.steps[i]
        self.forward_done = i + 1 if i < n else n  # Values computed so far
        self.back = i - n  # index into the backward history, -1 while going forward
        self.position = {v: k for k, v in enumerate(stepper.order)}
        if self.back >= 0:
            self.grads, _, self.touched = stepper._history[self.back]
            self.processed = set(list(reversed(stepper.order))[: self.back + 1])
        else:
            self.grads, self.touched, self.processed = {}, [], set()

    def known(self, node):
        return self.position[node] < self.forward_done

    def data(self, node):
        return node.data if self.known(node) else None

    def grad(self, node):
        return self.grads.get(node)

    def local(self, node, k):
        return self.s._locals[node][k]

    def passed_back(self, node):
        return self.grads.get(node) if node in self.processed else None

    def edge_width(self, node, k):
        op = node.grad_fn
        d = self.s._locals[node][k]
        g = self.s._history[-1][0].get(node, 0.0)
        longest = max(
            f"∂out/∂x = {op.formulas(param=node.param)[k]} = {fmt(d)}",
            f"grad += {fmt(g)} × {fmt(d)} = {fmt(g * d) if d is not None else '?'}",
            key=len,
        )
        return _text_width(longest)

    def node_attrs(self, node):
        if node is self.step.node:
            return CURRENT
        if node in self.touched:
            return PASSED_TO
        return {}

    def op_attrs(self, node):
        return CURRENT if node is self.step.node else {}

    def edge_attrs(self, node, k):
        if node is not self.step.node:
            return {}
        if self.step.phase == "backward":
            return {**ACTIVE_EDGE, "dir": "back"}
        return ACTIVE_EDGE

    def note(self, plan):
        return ""
