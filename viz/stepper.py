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

With a model, a step can be a whole module (``Stepper(loss, model=m, collapse="layers")``):
a layer computes all its outputs in one forward step and passes all its gradients back in
one backward step; `drill(path)` opens one module a level deeper (layer → neurons → ops),
so a 2-16-16-1 network can be walked, opened where the learner chooses.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from autograd import Value, topological_order

from . import graph as _graph
from . import modules as _modules
from .dot import (
    Graph,
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
    node: Value | _modules.Group  # a Value, or a collapsed module (one step for all of it)
    caption: str


class Stepper:
    """The forward and backward walk through `root`'s graph.

        s = Stepper(loss)
        len(s)            # 2 × the number of Values (or of units, with a model)
        s.steps[3].caption
        s.svg(3)          # frame 3 as SVG text; s.graph(3) as a graphviz.Digraph
        s.to_html("walk.html")   # the whole walk as one self-contained page
        s.widget()        # Jupyter controls (ipywidgets)

    With ``model=`` (an nn Module, or a `viz.record_calls` record) and ``collapse="layers"``
    or ``"neurons"``, each collapsed module is one step; ``s.drill("layers.1")`` gives the
    walk with that module opened one level.
    """

    def __init__(self, root: Value, *, params: Value | Iterable[Value] = (),
                 model: _modules.Model | None = None, collapse: str = "none",
                 expand: Iterable[str] = (), max_nodes: int = 150,
                 legend: bool = True) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"Stepper needs a Value, got {type(root).__name__}: {root!r}")
        order = topological_order(root)
        self.root, self.order, self.legend = root, order, legend
        self.model, self.collapse, self.expand = model, collapse, tuple(expand)
        params = _graph.found_params(order) | _graph.as_params(params)
        self.plan = _graph.Plan(order, [root], params=params)
        if model is not None:
            _modules.attach(self.plan, model, collapse, None)
            _open(self.plan, self.expand)
        elif collapse != "none" or expand:
            raise ValueError(f"collapse={collapse!r} needs the model: Stepper(root, model=model)")
        self.units, self.members = _units(self.plan)
        if len(self.units) > max_nodes:
            hint = ("collapse modules: Stepper(loss, model=model, collapse='layers')"
                    if model is None else "collapse a coarser level ('layers')")
            raise ValueError(
                f"Stepper: the graph has {len(self.units)} values, so {2 * len(self.units)} "
                f"steps; more than max_nodes={max_nodes} values is too long to follow. Step "
                f"through a smaller piece (one neuron, one example), {hint}, or pass "
                f"max_nodes={len(self.units)}."
            )
        self.names = short_names(order)
        self.ghosted = ghosted(self.plan)
        self._locals = {v: _graph.local_gradients(v) for v in order}
        self._uses: dict[Value, int] = {}
        for node in order:
            for parent in node.parents:
                self._uses[parent] = self._uses.get(parent, 0) + 1
        self._forward_step = {v: k for k, u in enumerate(self.units) for v in self.members[u]}
        self._history = self._walk()
        self.steps = self._captions()

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"Stepper({len(self.order)} values, {len(self)} steps)"

    def modules(self) -> list[str]:
        """The paths of the modules drawn collapsed, which `drill` can open."""
        return [unit.path for unit in self.units if isinstance(unit, _modules.Group)]

    def drill(self, path: str) -> Stepper:
        """The same walk with the module at `path` opened one level (its neurons, or its ops)."""
        if path not in self.modules():
            raise ValueError(f"no collapsed module {path!r} here; these can be opened: "
                             f"{', '.join(self.modules()) or 'none'}")
        return Stepper(self.root, params=self.plan.params, model=self.model,
                       collapse=self.collapse, expand=(*self.expand, path),
                       max_nodes=max(150, 2 * len(self.order)), legend=self.legend)

    # --- the walk --------------------------------------------------------------------

    def _walk(self):
        """For each backward step: (grads after it, terms per node, nodes it passed to)."""
        grads, terms, history = {}, {}, []
        for unit in reversed(self.units):
            touched = []
            for node in reversed(self.members[unit]):
                if node is self.root:
                    grads[node] = 1.0
                    terms[node] = [1.0]
                g = grads.get(node, 0.0)
                for parent, d in zip(node.parents, self._locals[node]):
                    term = g * d if d is not None else float("nan")
                    grads[parent] = grads.get(parent, 0.0) + term
                    terms.setdefault(parent, []).append(term)
                    touched.append(parent)
            history.append((dict(grads), {k: list(v) for k, v in terms.items()}, touched))
        return history

    def gradients(self) -> dict[Value, float]:
        """{Value: d(root)/d(Value)} at the end of the walk."""
        return dict(self._history[-1][0])

    def _kind(self, node):
        kind = _graph.kind(node, {self.root}, self.plan.params)
        return {"param": "parameter", "constant": "a number in the expression",
                "value": "an intermediate result"}.get(kind, kind)

    def _captions(self):
        n, steps = len(self.units), []
        for i, unit in enumerate(self.units):
            text = self._forward(unit)
            steps.append(Step(i, "forward", unit, f"forward {i + 1}/{n}: {text}"))
        for j, unit in enumerate(reversed(self.units)):
            text = self._backward(j, unit)
            steps.append(Step(n + j, "backward", unit, f"backward {j + 1}/{n}: {text}"))
        return steps

    def _forward(self, unit):
        if isinstance(unit, _modules.Group):
            return self._module_forward(unit)
        name = self.names[unit]
        if unit.is_leaf:
            return f"{name} = {fmt(unit.data)}, {self._kind(unit)}"
        op = unit.grad_fn
        inputs = ", ".join(f"{self.names[p]} = {fmt(p.data)}" for p in unit.parents)
        return f"{name} = {fmt(unit.data)}, computed by {op.name!r} from {inputs}"

    def _module_forward(self, group):
        nodes = self.members[group]
        ops = sum(1 for v in nodes if not v.is_leaf)
        outputs = _modules.outputs_of(self.plan, nodes)
        shown = ", ".join(f"{self.names[v]} = {fmt(v.data)}" for v in outputs[:4])
        more = f" and {len(outputs) - 4} more" if len(outputs) > 4 else ""
        return (f"{group.path} ({group.type_name}) computes {ops} ops; its outputs: "
                f"{shown}{more}. drill({group.path!r}) opens it")

    def _backward(self, j, unit):
        if isinstance(unit, _modules.Group):
            return self._module_backward(j, unit)
        node = unit
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

    def _module_backward(self, j, group):
        grads, _, touched = self._history[j]
        inside = set(self.members[group])
        sent = [p for p in dict.fromkeys(touched) if p not in inside]
        shown = ", ".join(f"{in_formula(self.names[p])}.grad = {fmt(grads.get(p, 0.0))}"
                          for p in sent[:4])
        more = f" and {len(sent) - 4} more" if len(sent) > 4 else ""
        return (f"{group.path} ({group.type_name}) passes the gradient back through its "
                f"{sum(1 for v in inside if not v.is_leaf)} ops, to its parameters and "
                f"inputs: {shown}{more}")

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

    def graph(self, i: int = 0, id_prefix: str = "") -> Graph:
        """The graphviz.Digraph of frame `i` (the state after step i)."""
        i = self._check(i)
        return build(self.plan, _FramePainter(self, i), name=f"step{i}", legend=self.legend,
                     names=self.names, id_prefix=id_prefix, legend_rows=self._legend())

    def state(self, i: int) -> dict[str, Any]:
        """{element id: (class, ((text, tone), ...))} of every changing element at frame i.

        Classes: "current" (the step's node or module, its op and edges), "passed" (a node
        that just received a gradient term), "active" (an edge being multiplied), "" (none).
        Tones: "pending", "partial", "final", "formula" or "plain".
        """
        i = self._check(i)
        painter = _FramePainter(self, i)
        current = self.steps[i].node
        state = {}
        for group, nodes in _modules.collapsed_members(self.plan).items():
            rows = _texts(_modules.collapsed_rows(self.plan, group, nodes, painter))
            state[group.node_id] = ("current" if group is current else "", rows)
        for n, node in enumerate(self.order):
            if self.plan.shown_as(node) is not None:
                continue
            kind = _graph.kind(node, {self.root}, self.plan.params)
            rows = _texts(_value_rows(node, self.names[node], painter, kind))
            cls = "current" if node is current else ("passed" if node in painter.touched else "")
            for element in [value_id(n)] + [ghost_id(n, u) for u in self.ghosted.get(node, ())]:
                state[element] = (cls, rows)
            if node.is_leaf:
                continue
            state[op_id(n)] = ("current" if node is current else "", ())
            for k, parent in enumerate(node.parents):
                if self.plan.shown_as(parent) is not None:
                    continue  # a plain edge out of a collapsed module: nothing on it
                edge = "active" if node is current else ""
                state[edge_id(n, k)] = (edge, _texts(edge_rows(node, k, self.names, painter)))
        return state

    def frames(self) -> list[dict[str, Any]]:
        """Frame 0's whole state, then for each later frame only what changed."""
        frames: list = []
        before: dict = {}
        for i in range(len(self)):
            now = self.state(i)
            frames.append({k: v for k, v in now.items() if before.get(k) != v})
            before = now
        return frames

    def focus(self, i: int) -> str:
        """The element id of frame i's current node (or module)."""
        unit = self.steps[self._check(i)].node
        if isinstance(unit, _modules.Group):
            return unit.node_id
        return value_id(self.order.index(unit))

    @cached_property
    def _base_svg(self) -> str:
        from .render import svg

        return svg(self.graph(0))

    def svg(self, i: int) -> str:
        """Frame `i` as SVG: the one layout with frame i's texts and classes."""
        from .frames import apply_state, with_style

        return with_style(apply_state(self._base_svg, self.state(i)))

    def svgs(self) -> list[str]:
        return [self.svg(i) for i in range(len(self))]

    def to_html(
        self, path: str | os.PathLike[str] | None = None, title: str | None = None
    ) -> str:
        """The whole walk as one self-contained HTML page; written to `path` if given."""
        from .html_export import stepper_html, write_html

        if path is None:
            return stepper_html(self, title=title)
        return write_html(self, path, title=title)

    def widget(self) -> Any:
        """Previous/next/play controls, a slider and a graph that follows the current node,
        for Jupyter (needs ipywidgets)."""
        from .widgets import stepper_widget

        return stepper_widget(self)

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> Any:
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
        n = len(stepper.units)
        self.forward_done = i + 1 if i < n else n  # units computed so far
        self.back = i - n  # index into the backward history, -1 while going forward
        if self.back >= 0:
            self.grads, _, self.touched = stepper._history[self.back]
            done = list(reversed(stepper.units))[: self.back + 1]
            self.processed = {v for unit in done for v in stepper.members[unit]}
        else:
            self.grads, self.touched, self.processed = {}, [], set()

    def known(self, node):
        return self.s._forward_step[node] < self.forward_done

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


def _open(plan, paths):
    """Open each collapsed module in `paths` one level: its child modules collapse instead."""
    for path in paths:
        group = next((g for g in plan.collapsed if g.path == path), None)
        if group is None:
            raise ValueError(f"no collapsed module {path!r} to open")
        used = {g for g in plan.groups}
        plan.collapsed = (plan.collapsed - {group}) | {c for c in group.children if c in used}


def _units(plan):
    """The steps' units in an order inputs-first: each collapsed module, and each Value
    outside them; {unit: its Values in topological order}."""
    members, unit_of = {}, {}
    for node in plan.order:
        unit = plan.shown_as(node) or node
        members.setdefault(unit, []).append(node)
        unit_of[node] = unit
    after = {unit: set() for unit in members}  # unit -> the units that must come before it
    for node in plan.order:
        for parent in node.parents:
            if unit_of[parent] is not unit_of[node]:
                after[unit_of[node]].add(unit_of[parent])
    units, placed = [], set()
    pending = list(members)  # in the order of their first Value: kept wherever it can be
    while pending:
        ready = next((u for u in pending if after[u] <= placed), None)
        if ready is None:
            raise ValueError(
                "Stepper: these modules feed each other back and forth, so they cannot be "
                "stepped one module at a time; use a finer collapse ('neurons' or 'none')"
            )
        units.append(ready)
        placed.add(ready)
        pending.remove(ready)
    return units, members
