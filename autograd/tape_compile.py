"""Compiling a traced graph into a tape's program: slots, level-ordered groups and edges.

Every node gets a row (a "slot") that holds its value for every example of a batch: the
leaves first (parameters, inputs, constants), then the computed nodes grouped by level (the
longest path from a leaf) and op, so that one numpy call computes a whole group. A chain
of '+' whose partial sums feed nothing else (what `sum()` builds) is one n-ary sum, added
up in the same order; its derivative to every term is 1, as ADD's. The edges are laid out
for backward's pulls, level by level from the top (see `Program._link_edges`).
"""

from __future__ import annotations

import numpy as np

from . import ops
from .backprop import topological_order


class Group:
    """Nodes of one level with one op, computed by one numpy call; their rows are contiguous."""

    def __init__(self, op, param, rows, operands, terms=0):
        self.op = op  # the ops.Op, or None for sums
        self.param = param  # a unary op's constant parameter (the exponent, the slope)
        self.rows = rows  # slice of the slots this group writes
        self.operands = operands  # per input position, the rows it reads; a sum: all its terms
        self.terms = terms  # how many terms each sum of the group has
        self.edges = []  # per input position: rows of the derivative matrix for its edges


class Program:
    """A graph compiled to slots, level-ordered groups and the edges backward pulls along.

    `outputs` are the Values whose numbers a replay returns; the first is the one backward
    differentiates (the loss).
    """

    def __init__(self, outputs, shapes, role, name):
        self.name, self.shapes = name, shapes
        self.buffers = {}  # the arrays replays reuse, per batch width (see tape_replay)
        order = topological_order(outputs)  # one order for all outputs
        absorbed = _absorbed_sums(order, keep=set(outputs))
        nodes = [n for n in order if n not in absorbed]
        self.n_nodes = len(nodes)

        # Leaves first: parameters by index, inputs by position, constants as they come.
        leaves = [n for n in nodes if n._op is None]
        roles = [role(leaf) for leaf in leaves]
        rank = {"param": 0, "input": 1, "const": 2}
        leaf_order = sorted(
            range(len(leaves)),
            key=lambda i: (rank[roles[i][0]], i if roles[i][0] == "const" else roles[i][1]),
        )
        slot = {leaves[i]: k for k, i in enumerate(leaf_order)}
        self.leaf_roles = tuple(roles[i] for i in leaf_order)
        self.const_leaves = [leaves[i] for i in leaf_order if roles[i][0] == "const"]
        kinds = [r[0] for r in self.leaf_roles]
        self.n_leaves = len(leaves)
        self.n_params, self.n_inputs = kinds.count("param"), kinds.count("input")
        ids = [r[1] for r in self.leaf_roles]
        self.param_ids = np.array(ids[: self.n_params], dtype=int)
        self.input_ids = np.array(ids[self.n_params : self.n_params + self.n_inputs], dtype=int)
        self.const_values = np.array(ids[self.n_params + self.n_inputs :], dtype=float)

        # Then one group per (level, op, parameter), or (level, sum, number of terms).
        level, inputs_of, by_key = {}, {}, {}
        for n in nodes:
            if n._op is None:
                level[n] = 0
                continue
            ins = _sum_terms(n, absorbed) if n._op is ops.ADD else n.parents
            inputs_of[n] = ins
            level[n] = 1 + max(level[i] for i in ins)
            key = (level[n], "sum", len(ins)) if n._op is ops.ADD else (level[n], n._op, n.param)
            by_key.setdefault(key, []).append(n)
        keys = sorted(by_key, key=lambda k: k[0])  # stable: appearance order within a level
        for key in keys:
            for n in by_key[key]:
                slot[n] = len(slot)
        self.n_slots = len(slot)
        self.n_levels = max(level.values()) + 1
        self.outputs = np.array([slot[out] for out in outputs])

        # Every edge (operand <- consumer), with the group and input position it serves.
        self.groups, edges, signature = [], [], []
        for key in keys:
            members = by_key[key]
            rows = slice(slot[members[0]], slot[members[0]] + len(members))
            if key[1] == "sum":
                terms = [slot[t] for n in members for t in inputs_of[n]]
                group = Group(None, None, rows, [_rows(terms)], key[2])
                edges.append((terms, [slot[n] for n in members for _ in range(key[2])], group))
                signature.append((key[0], "sum", tuple(terms)))
            else:
                op, param = key[1], key[2]
                positions = [[slot[n.parents[k]] for n in members] for k in range(op.arity)]
                group = Group(op, param, rows, [_rows(p) for p in positions])
                for targets in positions:
                    edges.append((targets, [slot[n] for n in members], group))
                signature.append((key[0], op, param, tuple(map(tuple, positions))))
            self.groups.append(group)
        self.signature = (self.leaf_roles, tuple(signature), tuple(self.outputs), shapes)
        self.structure = (tuple(r if r[0] != "const" else "const" for r in self.leaf_roles),
                          *self.signature[1:])  # the signature but the constants' values
        levels = np.zeros(self.n_slots, dtype=int)
        for n, s in slot.items():
            levels[s] = level[n]
        in_loss = np.zeros(self.n_slots, dtype=bool)  # the nodes the loss is computed from
        in_loss[[slot[n] for n in topological_order(outputs[0]) if n not in absorbed]] = True
        self._link_edges(edges, levels, in_loss)

    def _link_edges(self, edge_lists, levels, in_loss):
        """Lay out the derivative matrix (a row per edge) and backward's pulls.

        A node's gradient sums its outgoing edges, so edges are ordered by their operand's
        level (top first), then by its fan-out c, then by operand: the c edges of an operand
        are adjacent, and ``reshape(-1, c, n).sum(1)`` adds them up for a whole level at once.
        Only edges inside the loss's graph count (other outputs have no gradient).
        """
        target = np.array([t for targets, _, _ in edge_lists for t in targets], dtype=int)
        consumer = np.array([c for _, consumers, _ in edge_lists for c in consumers], dtype=int)
        useful = in_loss[consumer]
        fan_out = np.bincount(target[useful], minlength=self.n_slots)
        order = np.lexsort((target, fan_out[target], -levels[target], ~useful))
        position = np.empty_like(order)
        position[order] = np.arange(len(order))  # edge -> its row in the derivative matrix
        self.n_edges = len(order)
        ones, start = [], 0
        for targets, _, group in edge_lists:
            rows = position[start : start + len(targets)]
            start += len(targets)
            group.edges.append(_rows(rows))
            if group.op is None:
                ones.append(rows)  # a sum's derivative to each term is 1
        self.ones = np.concatenate(ones) if ones else np.zeros(0, dtype=int)

        n_useful = int(useful.sum())
        target, consumer = target[order][:n_useful], consumer[order][:n_useful]
        key = np.stack([levels[target], fan_out[target]], axis=1)
        bounds = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]).any(axis=1), True])
        self.pulls = []  # (operand rows, consumer rows, edge rows, edges per operand)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            c = int(fan_out[target[lo]])
            self.pulls.append((_rows(target[lo:hi:c]), _rows(consumer[lo:hi]), slice(lo, hi), c))


def difference(traced, other):
    """Where two programs differ, in words."""
    if traced.signature == other.signature:
        return "it computes other numbers than the trace (please report this as a bug)"
    a, b = traced.leaf_roles, other.leaf_roles
    if a != b:
        for (kind, x), (kind2, y) in zip(a, b):
            if kind == kind2 == "const" and x != y:
                return f"a constant fn makes is {y!r} here but was {x!r} when traced"
        if [r[0] for r in a] != [r[0] for r in b]:
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
    return f"the trace has {traced.n_nodes} nodes, this example's graph {other.n_nodes}"


def _count(roles):
    kinds = [r[0] for r in roles]
    return ", ".join(f"{kinds.count(k)} {k}s" for k in ("param", "input", "const"))


def _describe(group):
    if group[1] == "sum":
        return f"sums of {len(group[2])} terms"
    where = f" ({group[1].param_name}={group[2]:g})" if group[1].param_name else ""
    return f"{len(group[3][0])} x {group[1].name!r}{where}"


def _absorbed_sums(order, keep):
    """Partial sums of left-deep chains of '+' (what ``sum()`` builds): '+' nodes whose only
    consumer is a '+' that takes them as its left input. Summed left to right, such a chain
    adds in the eager engine's order, so the tape's sums are the very same floats."""
    uses, left_of_add = {}, set()
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


def _sum_terms(node, absorbed):
    """The terms of a fused sum, left to right."""
    terms, n = [node._b], node._a
    while n in absorbed:
        terms.append(n._b)
        n = n._a
    terms.append(n)
    return terms[::-1]


def _rows(indices):
    """Rows as a slice when they are consecutive (a view, no copy), else an index array."""
    indices = np.asarray(indices, dtype=int)
    if len(indices) and (np.diff(indices) == 1).all():
        return slice(int(indices[0]), int(indices[-1]) + 1)
    return indices

