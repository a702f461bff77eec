"""Clusters for nn Modules: which module each node of a graph was computed in.

A Value does not know which module made it (that would cost memory on every node), so
viz works it out from the outside, in one of two ways:

- from the model alone (`draw_dot(loss, model=model)`): a parameter belongs to the module
  that holds it; an op belongs to the module of a parameter it uses directly, else to
  the innermost module that holds all of its inputs (numbers such as the 0 that `sum`
  starts from do not count). Ops applied to a module's output outside it with no other
  input (say `y * 2`) are drawn inside that module, since nothing in the graph tells
  them apart.
- exactly, from a record of the calls (`with viz.record_calls(model) as t: loss = ...`, then
  `draw_dot(loss, model=t)`): each module call's nodes are those between its inputs and
  its outputs, the innermost call winning; within a call, the parameters place nodes in
  the inner modules it uses without calling them (a Layer computing its neurons).

Neither adds anything to Value. The model is only read (duck-typed: `named_modules()`
and `named_parameters()`, as nn.Module and torch.nn.Module have them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import graphviz

from autograd import Value

if TYPE_CHECKING:
    from .graph import Plan

from .graph import LEFT_OUT
from .style import KIND_ATTRS, Row, fmt, label


class Model(Protocol):
    """What viz needs of a model: nn's Module (or a `ModuleCalls` record of one)."""

    def named_modules(self) -> Iterable[tuple[str, Any]]: ...

    def named_parameters(self) -> Iterable[tuple[str, Value]]: ...


Boxes: TypeAlias = "dict[Any, Any]"
"""{Group: its cluster, a graphviz.Digraph}; looked up with a Group's parent, which may be None."""


@dataclass(eq=False)
class Group:
    """One module (a neuron, a layer) as a cluster of the diagram."""

    path: str  # "layers.0.neurons.3"
    type_name: str  # "Neuron"
    parent: Group | None = None
    children: list[Group] = field(default_factory=list)
    node_id: str = ""

    @property
    def depth(self) -> int:
        return 0 if self.parent is None else self.parent.depth + 1

    def __repr__(self) -> str:
        return f"Group({self.path!r}, {self.type_name})"


def _groups(model):
    """{path: Group} for every module inside `model` (the model itself excluded)."""
    if not hasattr(model, "named_modules") or not hasattr(model, "named_parameters"):
        raise TypeError(
            f"model must be an nn Module (with named_modules() and named_parameters()) or a "
            f"viz.record_calls, got {type(model).__name__}"
        )
    groups = {}
    for path, module in model.named_modules():
        if not path:
            continue
        parent = _enclosing(path, groups)
        group = Group(path, type(module).__name__, parent, node_id=f"g{len(groups)}")
        if parent is not None:
            parent.children.append(group)
        groups[path] = group
    return groups


def _enclosing(path, groups):
    """The Group of the innermost module around the dotted `path`, or None (the model)."""
    while "." in path:
        path = path.rsplit(".", 1)[0]
        if path in groups:
            return groups[path]
    return None


def _param_owners(model, groups):
    """{parameter Value: Group of the module that holds it (None for the model's own)}."""
    return {value: _enclosing(name, groups) for name, value in model.named_parameters()}


def _common(a, b):
    """The innermost Group holding both, or None."""
    ancestors = set()
    while a is not None:
        ancestors.add(a)
        a = a.parent
    while b is not None and b not in ancestors:
        b = b.parent
    return b


def infer_owners(
    order: list[Value], param_owner: dict[Value, Group | None]
) -> dict[Value, Group]:
    """{Value: Group} worked out from the parameters alone (see the module docstring)."""
    owner: dict[Value, Group] = {}
    for node in order:
        if node in param_owner:
            group = param_owner[node]
            if group is not None:
                owner[node] = group
            continue
        if node.is_leaf:
            continue
        direct = [g for p in node.parents if (g := param_owner.get(p)) is not None]
        if direct:
            owner[node] = direct[0]
            continue
        found, alone = None, True
        for p in node.parents:
            if p.is_leaf and not p.label and p not in param_owner:
                continue  # a number in the expression: it goes wherever it is used
            g = owner.get(p)
            if g is None:
                alone = False
                break
            found = g if found is None else _common(found, g)
            if found is None:
                alone = False
                break
        if alone and found is not None:
            owner[node] = found
    return owner


class ModuleCalls:
    """The module calls made inside ``with viz.record_calls(model) as t:``; pass it as
    draw_dot's model."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.calls: list[tuple[str, list[Value], list[Value]]] = []  # innermost calls first

    def owners(self, order: list[Value], groups: dict[str, Group]) -> dict[Value, Group]:
        in_graph = set(order)
        owner: dict = {}
        for path, inputs, outputs in self.calls:
            group = groups.get(path)
            if group is None:
                continue
            stop = set(inputs)
            stack = [v for v in outputs if v in in_graph]
            seen = set()
            while stack:
                node = stack.pop()
                if node in seen or node in stop:
                    continue
                seen.add(node)
                owner.setdefault(node, group)
                stack.extend(node.parents)
        return owner

    def named_modules(self) -> Iterable[tuple[str, Any]]:
        return self.model.named_modules()

    def named_parameters(self) -> Iterable[tuple[str, Value]]:
        return self.model.named_parameters()


def _values(x, out):
    if isinstance(x, Value):
        out.append(x)
    elif isinstance(x, (list, tuple)):
        for item in x:
            _values(item, out)
    return out


@contextlib.contextmanager
def record_calls(model: Model) -> Iterator[ModuleCalls]:
    """Record which module computed which Values, for exact clusters in `draw_dot`.

        with viz.record_calls(model) as t:
            loss = mse_loss(model(x), y)
        draw_dot(loss, model=t)

    Each module's ``forward`` is wrapped on the instance for the duration of the block
    (the classes are not touched) and restored afterwards, even on error.
    """
    record = ModuleCalls(model)
    wrapped = []
    for path, module in model.named_modules():
        if not path or "forward" in vars(module):
            continue
        original = module.forward

        def forward(x, _original=original, _path=path):
            out = _original(x)
            record.calls.append((_path, _values(x, []), _values(out, [])))
            return out

        module.forward = forward
        wrapped.append(module)
    try:
        yield record
    finally:
        for module in wrapped:
            del module.forward


def attach(plan: Plan, model: Model, collapse: str, max_nodes: int | None) -> None:
    """Fill in the plan's parameters, groups and owners, and collapse what `collapse` says."""
    if collapse not in ("auto", "none", "neurons", "layers"):
        raise ValueError(
            f"collapse must be 'auto', 'none', 'neurons' or 'layers'; got {collapse!r}"
        )
    groups = _groups(model)
    param_owner = _param_owners(model, groups)
    plan.params = set(param_owner)
    plan.owner = infer_owners(plan.order, param_owner)
    if isinstance(model, ModuleCalls):
        # The trace knows each call's boundary; inside it, the parameters still tell
        # which inner module (a neuron a Layer calls directly, say) computed a node.
        traced = model.owners(plan.order, groups)
        plan.owner = {
            v: plan.owner[v] if t in _lineage(plan.owner.get(v)) else t
            for v, t in traced.items()
        }
    used = set()
    for innermost_group in plan.owner.values():
        g: Group | None = innermost_group
        while g is not None and g not in used:
            used.add(g)
            g = g.parent
    plan.groups = [g for g in groups.values() if g in used]
    innermost = [g for g in plan.groups if not any(c in used for c in g.children)]
    outermost = [g for g in plan.groups if g.parent is None]
    if collapse == "neurons":
        plan.collapsed = set(innermost)
    elif collapse == "layers":
        plan.collapsed = set(outermost)
    elif collapse == "auto" and max_nodes is not None:
        for level in (innermost, outermost):
            if plan.count() <= max_nodes:
                break
            plan.collapsed = set(level)


def containers(plan: Plan, html_like: bool = True) -> Boxes:
    """{Group: its cluster Digraph} for every group that is drawn expanded."""
    boxes = {}
    for group in plan.groups:
        if any(g in plan.collapsed for g in _lineage(group)):
            continue
        box = graphviz.Digraph(name=f"cluster_{group.node_id}")
        box.attr(label=label([Row(f"{group.path} ({group.type_name})", limit=80)], html_like),
                 style="rounded,dashed", color="#9c4f7c", fontcolor="#5e2f4b",
                 labeljust="l", id=f"cluster_{group.node_id}")
        boxes[group] = box
    return boxes


def _lineage(group):
    while group is not None:
        yield group
        group = group.parent


MAX_LISTED = 6  # outputs listed in a collapsed module's box; the rest are counted


def collapsed_members(plan: Plan) -> dict[Group, list[Value]]:
    """{collapsed Group: the Values drawn inside it, in order}, for groups that hold any."""
    members: dict = {group: [] for group in plan.collapsed}
    for node in plan.order:
        group = plan.shown_as(node)
        if group is not None:
            members[group].append(node)
    return {group: nodes for group, nodes in members.items() if nodes}


def outputs_of(plan: Plan, nodes: list[Value]) -> list[Value]:
    """The Values of `nodes` that the rest of the graph uses (or that are outputs)."""
    inside = set(nodes)
    outputs = [v for v in nodes if v in set(plan.roots)]
    outputs += [p for v in plan.order if v not in inside for p in v.parents if p in inside]
    return list(dict.fromkeys(outputs))


def collapsed_rows(plan: Plan, group: Group, nodes: list[Value], painter: Any) -> list[Row]:
    """The rows of a collapsed module's box: its path, what it holds, its outputs' numbers."""
    ops = sum(1 for v in nodes if not v.is_leaf)
    params = sum(1 for v in nodes if v in plan.params)
    rows = [Row(f"{group.path} ({group.type_name})", bold=True, limit=80),
            Row(f"{ops} ops, {params} parameters")]
    outputs = outputs_of(plan, nodes)
    for v in outputs[:MAX_LISTED]:
        parts = []
        if painter.show_data:
            number = painter.data(v)
            parts.append(f"data {fmt(number)}")
        if painter.show_grad:
            parts.append(f"grad {fmt(painter.grad(v))}")
        if parts:
            width = 150 if painter.cell_width else None  # the stepper fixes every cell
            rows.append(Row("out: " + ", ".join(parts), width=width))
    if len(outputs) > MAX_LISTED and (painter.show_data or painter.show_grad):
        rows.append(Row(f"… and {len(outputs) - MAX_LISTED} more outputs"))
    return rows


def draw_collapsed(
    plan: Plan, g: Any, boxes: Boxes, source_id: Callable[[Value, str], str],
    painter: Any, lab: Callable[[list[Row]], str], id_prefix: str = "",
) -> None:
    """One node per collapsed group, with the edges from outside into it."""
    for group, nodes in collapsed_members(plan).items():
        inside = set(nodes)
        home = boxes.get(group.parent, g)
        home.node(group.node_id, lab(collapsed_rows(plan, group, nodes, painter)),
                  id=id_prefix + group.node_id, **KIND_ATTRS["module"])
        done = set()
        for v in nodes:
            for p in v.parents:
                src = source_id(p, group.node_id)
                if p not in inside and (src, group.node_id) not in done:
                    done.add((src, group.node_id))
                    g.edge(src, group.node_id, style="dashed" if src == LEFT_OUT else "solid")


def assemble(plan: Plan, g: Any, boxes: Boxes) -> None:
    """Put each expanded cluster inside its parent's, the outermost ones into `g`."""
    for group in sorted(boxes, key=lambda grp: -grp.depth):
        parent = boxes.get(group.parent)
        (parent if parent is not None else g).subgraph(boxes[group])
