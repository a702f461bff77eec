"""Step through a graph one node at a time: the forward pass, then the backward pass.

A graph of N Values gives 2·N steps. Forward, in topological order, step k computes the
k-th Value from its inputs. Backward, in reverse order, each step takes one Value whose
gradient is now final (the output's is seeded with 1) and passes it back along each input
edge, ``input.grad += out.grad × ∂out/∂input``, so a Value that feeds several others is
seen collecting one term per use. The gradients are computed here, from the op table,
independently of whatever `.grad` the Values hold.

The graph is laid out once. A frame is the state of that one drawing after a step: which
node is current, which numbers are known, which gradients are partial or final. `state(i)`
gives it as texts and classes per element id; the HTML page and the Jupyter widget both
replay these states on the one SVG, so a page grows with the graph, not graph × frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from autograd import Value, topological_order

from . import graph as _graph
from .dot import (
    Painter,
    build,
    edge_formula,
    edge_id,
    edge_rows,
    ghost_id,
    ghosted,
    op_id,
    value_id,
    with_number,
)
from .dot import value_rows as _value_rows
from .legend import legend_rows
from .names import in_formula, short_names
from .style import fmt


@dataclass(frozen=True)
class Step:
    """One step of the walk."""

    index: int  # 0 .. 2N-1
    phase: str  # "forward" or "backward"
    node: Value
    caption: str


class Stepper:
    """The forward and backward walk through `root`'s graph.

        s = Stepper(loss)
        len(s)            # 2 × the number of Values
        s.steps[3].caption
        s.svg(3)          # frame 3 as SVG text; s.graph(3) as a graphviz.Digraph
        s.to_html("walk.html")   # the whole walk as one self-contained page
        s.widget()        # Jupyter controls (ipywidgets)
    """

    def __init__(self, root, *, params=(), max_nodes=150, legend=True):
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
        self.legend = legend
        params = _graph.found_params(order) | _graph.as_params(params)
        self.plan = _graph.Plan(order, [root], params=params)
        self.names = short_names(order)
        self.ghosted = ghosted(self.plan)
        self._locals = {v: _graph.local_gradients(v) for v in order}
        self._uses = {}
        for node in order:
            for parent in node.parents:
                self._uses[parent] = self._uses.get(parent, 0) + 1
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

    def _kind(self, node):
        kind = _graph.kind(node, {self.root}, self.plan.params)
        return {"param": "parameter", "constant": "a number in the expression",
                "value": "an intermediate result"}.get(kind, kind)

    def _captions(self):
        n, steps = len(self.order), []
        for i, node in enumerate(self.order):
            steps.append(Step(i, "forward", node, f"forward {i + 1}/{n}: {self._forward(node)}"))
        for j, node in enumerate(reversed(self.order)):
            text = self._backward(j, node)
            steps.append(Step(n + j, "backward", node, f"backward {j + 1}/{n}: {text}"))
        return steps

    def _forward(self, node):
        name = self.names[node]
        if node.is_leaf:
            return f"{name} = {fmt(node.data)}, {self._kind(node)}"
        op = node.grad_fn
        inputs = ", ".join(f"{self.names[p]} = {fmt(p.data)}" for p in node.parents)
        return f"{name} = {fmt(node.data)}, computed by {op.name!r} from {inputs}"

    def _backward(self, j, node):
        grads, terms, _ = self._history[j]
        name = in_formula(self.names[node])
        g = grads.get(node, 0.0)
        if node is self.root:
            head = f"{name}.grad = 1, the seed (∂{name}/∂{name})"
        else:
            parts = terms.get(node, [])
            if len(parts) > 1:
                head = (f"{name}.grad = {' + '.join(fmt(t) for t in parts)} = {fmt(g)}, "
                        f"final: the sum over its {len(parts)} uses")
            elif parts:
                head = f"{name}.grad = {fmt(g)}, final"
            else:
                head = f"{name}.grad = 0: the output does not depend on it"
        if node.is_leaf:
            return f"{head}. A leaf: nothing further back."
        passes = []
        for k, (parent, d) in enumerate(zip(node.parents, self._locals[node])):
            rule = edge_formula(node, k, self.names)
            if d is None:
                passes.append(f"{rule} is undefined here, nothing passes to {self.names[parent]}")
                continue
            after = self._history[j][0].get(parent, 0.0)
            state = "final" if self._terms_done(j, parent) else "so far"
            passes.append(f"{with_number(rule, d)}, so {in_formula(self.names[parent])}.grad "
                          f"+= {fmt(g)} × {fmt(d)} = {fmt(g * d)} (now {fmt(after)}, {state})")
        return f"{head}. " + "; ".join(passes)

    def _terms_done(self, back, node):
        """Whether `node` has all its gradient terms after backward step `back`."""
        if node is self.root:
            return True
        return len(self._history[back][1].get(node, ())) >= self._uses.get(node, 0)

    # --- frames ----------------------------------------------------------------------

    def _check(self, i):
        if not isinstance(i, int) or not -len(self) <= i < len(self):
            raise IndexError(f"step {i!r} is out of range: there are {len(self)} steps")
        return i % len(self)

    def _legend(self):
        painter = Painter("both")
        return legend_rows(self.plan, painter, self.ghosted, stepping=True)

    def graph(self, i=0, id_prefix=""):
        """The graphviz.Digraph of frame `i` (the state after step i)."""
        i = self._check(i)
        return build(self.plan, _FramePainter(self, i), name=f"step{i}", legend=self.legend,
                     names=self.names, id_prefix=id_prefix, legend_rows=self._legend())

    def state(self, i) -> dict:
        """{element id: (class, ((text, tone), ...))} of every changing element at frame i.

        Classes: "current" (the step's node, its op and edges), "passed" (a node that just
        received a gradient term), "active" (an edge being multiplied), "" (none). Tones:
        "pending", "partial", "final", "formula" or "plain".
        """
        i = self._check(i)
        painter = _FramePainter(self, i)
        current = self.steps[i].node
        state = {}
        for n, node in enumerate(self.order):
            kind = _graph.kind(node, {self.root}, self.plan.params)
            rows = _texts(_value_rows(node, self.names[node], painter, kind))
            cls = "current" if node is current else ("passed" if node in painter.touched else "")
            for element in [value_id(n)] + [ghost_id(n, u) for u in self.ghosted.get(node, ())]:
                state[element] = (cls, rows)
            if node.is_leaf:
                continue
            state[op_id(n)] = ("current" if node is current else "", ())
            for k in range(len(node.parents)):
                edge = "active" if node is current else ""
                state[edge_id(n, k)] = (edge, _texts(edge_rows(node, k, self.names, painter)))
        return state

    def frames(self) -> list:
        """Frame 0's whole state, then for each later frame only what changed."""
        frames, before = [], {}
        for i in range(len(self)):
            now = self.state(i)
            frames.append({k: v for k, v in now.items() if before.get(k) != v})
            before = now
        return frames

    def focus(self, i) -> str:
        """The element id of frame i's current node."""
        return value_id(self.order.index(self.steps[self._check(i)].node))

    @cached_property
    def _base_svg(self) -> str:
        from .render import svg

        return svg(self.graph(0))

    def svg(self, i) -> str:
        """Frame `i` as SVG: the one layout with frame i's texts and classes."""
        from .frames import apply_state, with_style

        return with_style(apply_state(self._base_svg, self.state(i)))

    def svgs(self) -> list:
        return [self.svg(i) for i in range(len(self))]

    def to_html(self, path=None, title=None):
        """The whole walk as one self-contained HTML page; written to `path` if given."""
        from .html_export import stepper_html, write_html

        if path is None:
            return stepper_html(self, title=title)
        return write_html(self, path, title=title)

    def widget(self):
        """Previous/next/play controls, a slider and a graph that follows the current node,
        for Jupyter (needs ipywidgets)."""
        from .widgets import stepper_widget

        return stepper_widget(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        try:
            return self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        except ImportError:
            return {"text/html": self.to_html(), "text/plain": repr(self)}


def _texts(rows):
    return tuple((r.text, r.tone or "plain") for r in rows)


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

    def grad_tone(self, node):
        if self.back < 0:
            return None
        return "final" if self.s._terms_done(self.back, node) else "partial"

    def local(self, node, k):
        return self.s._locals[node][k]

    def passed_back(self, node):
        return self.grads.get(node) if node in self.processed else None

    def edge_width(self, node, k):
        d = self.s._locals[node][k]
        g = self.s._history[-1][0].get(node, 0.0)
        longest = max(
            f"{edge_formula(node, k, self.s.names)} = {fmt(d)}",
            f"grad += {fmt(g)} × {fmt(d)} = {fmt(g * d) if d is not None else '?'}",
            key=len,
        )
        return _text_width(longest)

    def note(self, plan):
        return ""

