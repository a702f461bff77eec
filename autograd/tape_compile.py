"""Compiling a traced graph into a tape's program: slots, level-ordered groups and edges.

Every node the replay computes gets a row (a "slot") that holds its value for every
example of a batch: the leaves first (parameters, inputs, constants), then the computed
nodes grouped by level (the longest path from a leaf) and op, so that one numpy call
computes a whole group.

Two shapes of graph are recognized and fused:
- a chain of '+' whose partial sums feed nothing else (what `sum()` builds) is one n-ary
  sum, added up in the same order as the eager engine; its derivative to every term is 1;
- a neuron, ``b + w0*x0 + w1*x1 + ...`` with parameters w and b, is a row of a matrix
  product, and the neurons of a level that read the same x's (a layer) are one
  ``W @ X + b``. The products are not stored; backward is ``W.T @ dZ`` and ``dZ @ X.T``.
  A matrix product adds in another order than the eager engine, so its numbers agree with
  eager to rounding (the tests hold them to 1e-9 relative), not bit for bit.

The edges of the other groups are laid out for backward's pulls, level by level from the
top (see `_link_edges`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from . import ops
from .backprop import topological_order
from .tape_guard import CompiledGuard
from .value import Value

if TYPE_CHECKING:
    from .tape_batch import Shapes
    from .tape_guard import Guard
    from .tape_replay import _Buffers

Rows: TypeAlias = "slice | np.ndarray"
"""Rows of a replay's matrices: a slice when consecutive (a view), else an index array."""

StridedView: TypeAlias = "tuple[int, tuple[int, ...]]"
"""(offset, strides) of ids laid out as a strided view of the parameters' vector."""

GroupKey: TypeAlias = "tuple[Any, ...]"
"""(level, "matmul", inputs, has bias), (level, "sum", terms) or (level, op, param)."""


@dataclass(frozen=True)
class LeafRole:
    """What a leaf of the graph is: a parameter (index in the tape's params), an input
    (position among the example's numbers) or a constant (its value)."""

    kind: str  # "param", "input" or "const"
    key: float  # the index, the position or the value

    RANK = {"param": 0, "input": 1, "const": 2}

    def sort_key(self, appearance: int) -> tuple[int, float]:
        """Parameters by index, inputs by position, constants as they come."""
        return (self.RANK[self.kind], appearance if self.kind == "const" else self.key)


@dataclass
class Group:
    """Nodes of one level with one op (or sums of as many terms), computed by one numpy
    call; their rows are contiguous."""

    op: ops.Op | None  # None for sums
    param: float | None  # a unary op's constant parameter (the exponent, the slope)
    rows: slice  # the slots this group writes
    operands: list[Rows]  # per input position, the rows it reads; a sum: all its terms
    terms: int = 0  # how many terms each sum of the group has
    edges: list[Rows] = field(default_factory=list)  # per input position: rows of D for its edges


@dataclass
class MatmulGroup:
    """A layer of neurons: Z = W @ X (+ b), Z in `rows`, X read from `inputs`."""

    rows: slice
    inputs: slice | np.ndarray  # the rows of X, one per input of the neurons
    weight_ids: np.ndarray  # (neurons, inputs): each weight's index among the params
    bias_ids: np.ndarray | None  # (neurons,) or None
    level: int  # the level of X: backward adds W.T @ dZ there
    in_loss: bool = True
    index: int = 0  # its place among the program's layers (`Program.layers`)

    def __post_init__(self) -> None:
        # As nn lays parameters out, W and b are strided views of the parameters' vector
        # (no gather forward, no scatter backward); None where they are not.
        self.weight_view = _strided(self.weight_ids)
        self.bias_view = None if self.bias_ids is None else _strided(self.bias_ids)

    def weights(self, vector: np.ndarray) -> np.ndarray:
        """W read from, or as a view into, a vector over the parameters."""
        return self._part(vector, self.weight_ids, self.weight_view)

    def bias(self, vector: np.ndarray) -> np.ndarray:
        assert self.bias_ids is not None  # called for a layer with a bias only
        return self._part(vector, self.bias_ids, self.bias_view)

    def _part(self, vector: np.ndarray, ids: np.ndarray, view: StridedView | None) -> np.ndarray:
        if view is None:
            gathered: np.ndarray = vector[ids]
            return gathered
        cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]
        cache = self.__dict__.setdefault("_views", {})  # replays reuse their vectors
        hit = cache.get((id(vector), id(ids)))
        if hit is None or hit[0] is not vector:
            if len(cache) > 8:
                cache.clear()
            hit = cache[id(vector), id(ids)] = (vector, _take(vector, ids, view))
        return hit[1]


def _strided(ids: np.ndarray) -> StridedView | None:
    """(offset, strides) with ids[j, ...] == offset + sum(index * stride), else None."""
    if ids.size == 0:
        return None
    offset = int(ids.flat[0])
    strides = []
    for axis in range(ids.ndim):
        step = ids.take([1], axis=axis).flat[0] - offset if ids.shape[axis] > 1 else 1
        strides.append(int(step))
    grid = np.indices(ids.shape)
    expected = offset + sum(g * s for g, s in zip(grid, strides))
    if not (expected == ids).all() or min(strides) < 1 or len(np.unique(ids)) != ids.size:
        return None
    return offset, tuple(strides)


def _take(vector: np.ndarray, ids: np.ndarray, view: StridedView | None) -> np.ndarray:
    if view is None:
        gathered: np.ndarray = vector[ids]
        return gathered
    offset, strides = view
    return np.lib.stride_tricks.as_strided(
        vector[offset:], ids.shape, [s * vector.itemsize for s in strides])


@dataclass(frozen=True)
class Edges:
    """The edges of one input position of a group: operand k <- consumer k."""

    operands: list[int]  # rows
    consumers: list[int]  # rows
    group: Group


@dataclass(frozen=True)
class Pull:
    """Backward for the operands of one level and fan-out c: each operand's gradient is
    the sum of its c edges' (consumer's gradient x local derivative)."""

    targets: slice | np.ndarray  # operand rows
    consumers: slice | np.ndarray  # consumer rows, c per operand, edge by edge
    edges: slice  # rows of the derivative matrix
    fan_out: int
    level: int


class Program:
    """A graph compiled to slots, level-ordered groups and the edges backward pulls along.

    `outputs` are the Values whose numbers a replay returns; the first is the one backward
    differentiates (the loss). `guards` are the decisions fn took on the way
    (`tape_guard.Guard`); `role(leaf)` says what a leaf is (a `LeafRole`).
    """

    def __init__(
        self, outputs: list[Value], shapes: Shapes, role: Callable[[Value], LeafRole],
        name: str, guards: Sequence[Guard] = (),
    ) -> None:
        self.name, self.shapes = name, shapes
        self.buffers: dict[int, _Buffers] = {}  # arrays replays reuse, per batch width
        watched = [n for g in guards for n in g.nodes()]  # nodes whose numbers fn read
        order = topological_order(list(outputs) + watched)
        keep = set(outputs) | set(watched)
        absorbed = _absorbed_sums(order, keep)
        roles = {n: role(n) for n in order if n._op is None}
        neurons, products = _neurons(order, absorbed, keep, roles)
        absorbed |= products
        nodes = [n for n in order if n not in absorbed]
        self.n_nodes = len(nodes) + len(products)

        # per computed node, the nodes it reads from slots
        self.inputs_of: dict[Value, Sequence[Value]] = {}
        for n in nodes:
            if n in neurons:
                self.inputs_of[n] = neurons[n].inputs
            elif n._op is ops.ADD:
                self.inputs_of[n] = _sum_terms(n, absorbed)
            elif n._op is not None:
                self.inputs_of[n] = n.parents
        read = {i for ins in self.inputs_of.values() for i in ins} | keep
        self._lay_out_leaves([n for n in nodes if n._op is None and n in read], roles)
        groups = self._group_by_level(nodes, neurons)
        self.outputs = np.array([self.slot[out] for out in outputs])
        self._compile_groups(groups, neurons, outputs)
        self.guards = [
            CompiledGuard(*g.describe(self.slot), exact=g.exact(), line=g.line) for g in guards
        ]
        # Guards on leaves only (an input compared with a label) are checked before forward.
        self.leaf_guards = [g for g, raw in zip(self.guards, guards)
                            if all(self.slot[n] < self.n_leaves for n in raw.nodes())]
        self.signature = (self.leaf_roles, tuple(self.descriptions), tuple(self.outputs),
                          shapes, tuple(g.describe(self.slot) for g in guards))

    # --- layout ---------------------------------------------------------------------------

    def _lay_out_leaves(self, leaves: list[Value], roles: dict[Value, LeafRole]) -> None:
        """Slots 0.. for the leaves: parameters, inputs, constants (`LeafRole.sort_key`)."""
        ordered = sorted(enumerate(leaves), key=lambda item: roles[item[1]].sort_key(item[0]))
        self.slot = {leaf: k for k, (_, leaf) in enumerate(ordered)}
        self.leaf_roles = tuple(roles[leaf] for _, leaf in ordered)
        self.const_leaves = [n for n, r in roles.items() if r.kind == "const"]
        self.n_leaves = len(ordered)
        of_kind = {kind: [r.key for r in self.leaf_roles if r.kind == kind]
                   for kind in LeafRole.RANK}
        self.n_params, self.n_inputs = len(of_kind["param"]), len(of_kind["input"])
        self.param_ids = np.array(of_kind["param"], dtype=int)
        self.input_ids = np.array(of_kind["input"], dtype=int)
        self.const_values = np.array(of_kind["const"], dtype=float)

    def _group_by_level(
        self, nodes: list[Value], neurons: dict[Value, Neuron],
    ) -> dict[GroupKey, list[Value]]:
        """{(level, kind...): members}, slots given level by level, appearance order within."""
        self.level = {n: 0 for n in self.slot}
        groups: dict[GroupKey, list[Value]] = {}
        for n in nodes:
            if n._op is None:
                continue
            ins = self.inputs_of[n]
            self.level[n] = 1 + max((self.level[i] for i in ins), default=0)
            groups.setdefault((self.level[n], *_group_kind(n, neurons, ins)),
                              []).append(n)
        keys = sorted(groups, key=lambda k: k[0])  # stable: appearance order within a level
        for key in keys:
            for n in groups[key]:
                self.slot[n] = len(self.slot)
        self.n_slots = len(self.slot)
        self.n_levels = max(self.level.values(), default=0) + 1
        return {key: groups[key] for key in keys}

    def _compile_groups(
        self, groups: dict[GroupKey, list[Value]], neurons: dict[Value, Neuron],
        outputs: list[Value],
    ) -> None:
        slot = self.slot
        in_loss = np.zeros(self.n_slots, dtype=bool)  # the nodes the loss is computed from
        in_loss[[slot[n] for n in topological_order(outputs[0]) if n in slot]] = True
        self.groups: list[Group | MatmulGroup] = []
        self.layers: list[MatmulGroup] = []  # the matrix products, in the groups' order
        self.descriptions: list[tuple[Any, ...]] = []  # hashable, for `difference`
        edges: list[Edges] = []
        for key, members in groups.items():
            rows = slice(slot[members[0]], slot[members[0]] + len(members))
            level, kind = key[0], key[1]
            group: Group | MatmulGroup
            if kind == "matmul":
                first = neurons[members[0]]
                group = MatmulGroup(
                    rows, _rows([slot[x] for x in first.inputs]),
                    np.array([neurons[n].weight_ids for n in members], dtype=int),
                    None if first.bias_id is None
                    else np.array([neurons[n].bias_id for n in members], dtype=int),
                    level - 1, bool(in_loss[rows].any()), len(self.layers))
                self.layers.append(group)
                self.descriptions.append((level, "matmul", tuple(slot[x] for x in first.inputs),
                                          group.weight_ids.tobytes(),
                                          None if group.bias_ids is None
                                          else group.bias_ids.tobytes()))
            elif kind == "sum":
                terms = [slot[t] for n in members for t in self.inputs_of[n]]
                group = Group(None, None, rows, [_rows(terms)], key[2])
                edges.append(Edges(terms, [slot[n] for n in members for _ in range(key[2])],
                                   group))
                self.descriptions.append((level, "sum", tuple(terms)))
            else:
                op, param = kind, key[2]
                positions = [[slot[n.parents[k]] for n in members] for k in range(op.arity)]
                group = Group(op, param, rows, [_rows(p) for p in positions])
                for targets in positions:
                    edges.append(Edges(targets, [slot[n] for n in members], group))
                self.descriptions.append((level, op, param, tuple(map(tuple, positions))))
            self.groups.append(group)
        levels = np.zeros(self.n_slots, dtype=int)
        for n, s in slot.items():
            levels[s] = self.level[n]
        self._link_edges(edges, levels, in_loss)
        self._schedule_backward()

    def _link_edges(
        self, edge_lists: list[Edges], levels: np.ndarray, in_loss: np.ndarray,
    ) -> None:
        """Lay out the derivative matrix (a row per edge) and backward's pulls.

        A node's gradient sums its outgoing edges, so edges are ordered by their operand's
        level (top first), then by its fan-out c, then by operand: the c edges of an operand
        are adjacent, and ``reshape(-1, c, n).sum(1)`` adds them up for a whole level at once.
        Only edges inside the loss's graph count (other outputs have no gradient); the rest
        go last.
        """
        operand = np.array([t for e in edge_lists for t in e.operands], dtype=int)
        consumer = np.array([c for e in edge_lists for c in e.consumers], dtype=int)
        useful = in_loss[consumer]
        fan_out = np.bincount(operand[useful], minlength=self.n_slots)
        # np.lexsort sorts by its last key first: useful edges, top level, fan-out, operand.
        order = np.lexsort((operand, fan_out[operand], -levels[operand], ~useful))
        row_of_edge = np.empty_like(order)
        row_of_edge[order] = np.arange(len(order))
        self.n_edges = len(order)
        ones, start = [], 0
        for e in edge_lists:
            rows = row_of_edge[start : start + len(e.operands)]
            start += len(e.operands)
            e.group.edges.append(_rows(rows))
            if e.group.op is None:
                ones.append(rows)  # a sum's derivative to each term is 1
        self.ones = np.concatenate(ones) if ones else np.zeros(0, dtype=int)

        n_useful = int(useful.sum())
        operand, consumer = operand[order][:n_useful], consumer[order][:n_useful]
        self.pulls: list[Pull] = []
        for lo, hi in _runs(levels[operand], fan_out[operand]):
            c = int(fan_out[operand[lo]])
            self.pulls.append(Pull(_rows(operand[lo:hi:c]), _rows(consumer[lo:hi]),
                                   slice(lo, hi), c, int(levels[operand[lo]])))
        self.pulled = np.zeros(self.n_slots, dtype=bool)
        self.pulled[operand] = True

    def _schedule_backward(self) -> None:
        """Backward's steps from the top level down: a level's pulls, then the matrix
        products whose X sits on that level (they add W.T @ dZ to X's gradients; none
        where X are leaves: inputs and constants need no gradient from them)."""
        self.matmuls = [g for g in self.layers if g.in_loss]
        steps: list[tuple[int, int, int, Pull | MatmulGroup]]
        steps = [(-p.level, 0, k, p) for k, p in enumerate(self.pulls)]
        steps += [(-m.level, 1, k, m) for k, m in enumerate(self.matmuls)
                  if max(_indices(m.inputs)) >= self.n_leaves]
        self.backward_steps = [step for *_, step in sorted(steps, key=lambda s: s[:3])]
        reset = {r for m in self.matmuls for r in _indices(m.inputs) if not self.pulled[r]}
        self.matmul_only_rows = np.array(sorted(reset), dtype=int)  # zeroed before backward


def _runs(*keys: np.ndarray) -> list[tuple[int, int]]:
    """(lo, hi) of the runs of equal keys."""
    if not len(keys[0]):
        return []
    key = np.stack(keys, axis=1)
    bounds = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]).any(axis=1), True])
    return list(zip(bounds[:-1], bounds[1:]))


def _indices(rows: Rows) -> Iterable[int]:
    return range(rows.start, rows.stop) if isinstance(rows, slice) else rows.tolist()


def _group_kind(
    node: Value, neurons: dict[Value, Neuron], inputs: Sequence[Value],
) -> tuple[Any, ...]:
    """The rest of a node's group key: ("matmul", n inputs), ("sum", n terms), (op, param)."""
    if node in neurons:
        return ("matmul", tuple(map(id, inputs)), neurons[node].bias_id is not None)
    if node._op is ops.ADD:
        return ("sum", len(inputs))
    return (node._op, node.param)


@dataclass
class Neuron:
    """``b + w0*x0 + ...``: the parameters' indices and the x's (nodes)."""

    weight_ids: list[float]  # whole numbers, as `LeafRole.key`
    bias_id: float | None
    inputs: list[Value]


def _neurons(
    order: list[Value], absorbed: set[Value], keep: set[Value], roles: dict[Value, LeafRole],
) -> tuple[dict[Value, Neuron], set[Value]]:
    """The sums that are neurons, and the products they absorb.

    A neuron is a fused sum whose terms are an optional parameter (the bias) first, then
    products of a parameter and a node that is not one, each used by this sum only. Its
    x's must differ from each other and sit on one level, as a layer's inputs do.
    """
    uses: dict[Value, int] = {}
    for n in order:
        for p in n.parents:
            uses[p] = uses.get(p, 0) + 1

    def param(v: Value) -> float | None:
        role = roles.get(v)
        return role.key if role is not None and role.kind == "param" else None

    level: dict[Value, int] = {}  # levels as the compiled program has them
    neurons: dict[Value, Neuron] = {}
    products: set[Value] = set()
    for n in order:
        if n._op is None:
            level[n] = 0
            continue
        if n._op is not ops.ADD or n in absorbed:
            level[n] = 1 + max(level[p] for p in n.parents)
            continue
        terms = _sum_terms(n, absorbed)
        level[n] = 1 + max(level[t] for t in terms)
        bias = param(terms[0])
        if bias is not None:
            terms = terms[1:]
        weights: list[float] = []
        xs: list[Value] = []
        for t in terms:
            if t._op is not ops.MUL or uses.get(t) != 1 or t in keep:
                break
            x, y = t.parents  # the product's factors: a parameter and an x, in either order
            a, b = param(x), param(y)
            if a is not None and b is None:
                weights.append(a)
                xs.append(y)
            elif a is None and b is not None:
                weights.append(b)
                xs.append(x)
            else:
                break
        else:
            if xs and len(set(xs)) == len(xs) and len({level[x] for x in xs}) == 1:
                neurons[n] = Neuron(weights, bias, xs)
                products.update(terms)
                level[n] = 1 + level[xs[0]]
    return neurons, products


def difference(traced: Program, other: Program) -> str:
    """Where two programs differ, in words."""
    if traced.signature == other.signature:
        return "it computes other numbers than the trace (please report this as a bug)"
    a, b = traced.leaf_roles, other.leaf_roles
    if a != b:
        for ra, rb in zip(a, b):
            if ra.kind == rb.kind == "const" and ra.key != rb.key:
                return f"a constant fn makes is {rb.key!r} here but was {ra.key!r} when traced"
        if [r.kind for r in a] != [r.kind for r in b]:
            return f"it reads {_count(b)} where the trace reads {_count(a)}"
        return "it reads other inputs or parameters than the trace"
    for ga, gb in zip(traced.signature[1], other.signature[1]):
        if ga != gb:
            return (
                f"at level {ga[0]} the trace computes {_describe(ga)}, "
                f"this example {_describe(gb)}"
            )
    if traced.shapes != other.shapes:
        return f"it returns shapes {other.shapes}, the trace {traced.shapes}"
    if traced.signature[4] != other.signature[4]:
        return "it takes other decisions on its numbers than the trace"
    return f"the trace has {traced.n_nodes} nodes, this example's graph {other.n_nodes}"


def _count(roles: Sequence[LeafRole]) -> str:
    kinds = [r.kind for r in roles]
    return ", ".join(f"{kinds.count(k)} {k}s" for k in ("param", "input", "const"))


def _describe(group: tuple[Any, ...]) -> str:
    if group[1] == "sum":
        return f"sums of {len(group[2])} terms"
    if group[1] == "matmul":
        return f"a layer of neurons of {len(group[2])} inputs"
    where = f" ({group[1].param_name}={group[2]:g})" if group[1].param_name else ""
    return f"{len(group[3][0])} x {group[1].name!r}{where}"


def _absorbed_sums(order: list[Value], keep: set[Value]) -> set[Value]:
    """Partial sums of left-deep chains of '+' (what ``sum()`` builds): '+' nodes whose only
    consumer is a '+' that takes them as its left input. Summed left to right, such a chain
    adds in the eager engine's order, so the tape's sums are the very same floats."""
    uses: dict[Value, int] = {}
    left_of_add: set[Value] = set()
    for n in order:
        if n._op is None:
            continue
        for p in n.parents:
            uses[p] = uses.get(p, 0) + 1
        if n._op is ops.ADD:
            left_of_add.add(n._a)
    return {
        n
        for n in order
        if n._op is ops.ADD and uses.get(n) == 1 and n in left_of_add and n not in keep
    }


def _sum_terms(node: Value, absorbed: set[Value]) -> list[Value]:
    """The terms of a fused sum, left to right."""
    n, last = node.parents  # a '+' node: (left, right)
    terms = [last]
    while n in absorbed:
        n, last = n.parents
        terms.append(last)
    terms.append(n)
    return terms[::-1]


def _rows(indices: Sequence[int] | np.ndarray) -> Rows:
    """Rows as a slice when they are consecutive (a view, no copy), else an index array."""
    indices = np.asarray(indices, dtype=int)
    if len(indices) and (np.diff(indices) == 1).all():
        return slice(int(indices[0]), int(indices[-1]) + 1)
    return indices
