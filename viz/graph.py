"""Which Values a diagram shows, of which kind, and what to do when there are too many."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from autograd import Parameter, Value

if TYPE_CHECKING:
    from .modules import Group

Roots: TypeAlias = "Value | Iterable[Value]"
"""What a diagram draws: one output Value, or several (an MLP's outputs)."""


LEFT_OUT = "more"  # the id of the note that stands for the Values a diagram leaves out

def as_roots(root: Roots) -> list[Value]:
    """`root` as a list of output Values: one Value, or an iterable of them (an MLP's outputs)."""
    if isinstance(root, Value):
        return [root]
    try:
        roots = list(root)
    except TypeError:
        raise TypeError(
            f"expected a Value or a list of Values, got {type(root).__name__}: {root!r}"
        ) from None
    for i, r in enumerate(roots):
        if not isinstance(r, Value):
            raise TypeError(f"expected Values, but item {i} is {type(r).__name__}: {r!r}")
    if not roots:
        raise ValueError("nothing to draw: the list of outputs is empty")
    return roots


def as_params(params: Value | Iterable[Value]) -> set[Value]:
    """The Values to draw as parameters; anything else is a TypeError."""
    items: Iterable[Any] = [params] if isinstance(params, Value) else params
    out = set()
    for p in items:
        if not isinstance(p, Value):
            raise TypeError(f"params must be Values, got {type(p).__name__}: {p!r}")
        out.add(p)
    return out


def local_gradients(node: Value) -> tuple[float | None, ...]:
    """d(node)/d(input) per input from the op table, None where it is undefined (log at 0)."""
    try:
        return node.local_gradients()
    except (ArithmeticError, ValueError):
        return (None,) * len(node.parents)


def found_params(order: Iterable[Value]) -> set[Value]:
    """The leaves that are Parameters (nn's weights and biases): drawn as parameters."""
    return {v for v in order if isinstance(v, Parameter)}


def kind(node: Value, roots: Iterable[Value], params: set[Value] | frozenset[Value]) -> str:
    """'output', 'param', 'input', 'constant' or 'value' (see viz.style)."""
    if node in roots:
        return "output"
    if node.is_leaf:
        if node in params:
            return "param"
        return "input" if node.label else "constant"
    return "value"


def drawn_count(values: Iterable[Value]) -> int:
    """Nodes a diagram of these Values draws: one per Value plus one per op."""
    return sum(1 if v.is_leaf else 2 for v in values)


@dataclass
class Plan:
    """What one diagram draws."""

    order: list[Value]  # the Values drawn, inputs first
    roots: list[Value]
    params: set[Value] = field(default_factory=set)
    groups: list[Group] = field(default_factory=list)  # outermost first
    owner: dict[Value, Group] = field(default_factory=dict)  # Value -> innermost Group
    collapsed: set[Group] = field(default_factory=set)  # Groups drawn as one node
    hidden: int = 0  # Values left out to stay under the node limit
    hidden_ops: int = 0

    def __post_init__(self) -> None:
        self.index = {v: i for i, v in enumerate(self.order)}

    def count(self) -> int:
        """How many Graphviz nodes this plan draws."""
        if not self.collapsed:
            return drawn_count(self.order) + (1 if self.hidden else 0)
        inside = [v for v in self.order if self.shown_as(v) is not None]
        outer = {self.shown_as(v) for v in inside}
        rest = [v for v in self.order if self.shown_as(v) is None]
        return drawn_count(rest) + len(outer) + (1 if self.hidden else 0)

    def shown_as(self, node: Value) -> Group | None:
        """The outermost collapsed Group that `node` disappears into, or None."""
        group = self.owner.get(node)
        found = None
        while group is not None:
            if group in self.collapsed:
                found = group
            group = group.parent
        return found


def nearest(
    order: list[Value], roots: list[Value], limit: int,
    params: set[Value] | frozenset[Value] = frozenset(),
) -> Plan:
    """A Plan of the Values nearest the outputs (breadth-first) that fit in `limit` nodes."""
    keep, used = set(), 0
    queue = deque(roots)
    while queue:
        node = queue.popleft()
        if node in keep:
            continue
        cost = 1 if node.is_leaf else 2
        if used + cost > limit - 1:  # one node is kept for the "more" note
            break
        keep.add(node)
        used += cost
        queue.extend(node.parents)
    drawn = [v for v in order if v in keep]
    left_out = [v for v in order if v not in keep]
    plan = Plan(drawn, roots, params=set(params))
    plan.hidden = len(left_out)
    plan.hidden_ops = sum(1 for v in left_out if not v.is_leaf)
    return plan
