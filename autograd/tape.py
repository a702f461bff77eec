"""The batched tape: trace a function of one example once, replay it over a batch with numpy.

    def hinge(x, y):                              # one example, written with Values as usual
        return (1 + -y * model(x)).relu()

    tape = trace(hinge, model.parameters(), example_inputs=(X[0], y[0]))
    model.zero_grad()
    loss = tape.backward(X, y)                    # mean over the batch; gradients in p.grad

Tracing calls `fn` on Values made from the example and compiles the graph into a program.
Every node gets a row (a "slot") that holds its value for every example of the batch. Nodes
are grouped by level (the longest path from a leaf) and op, so one numpy call computes all
same-op nodes of a level for the whole batch. Values come from each op's `array_forward`,
local derivatives from the very `derivatives` the eager engine uses, evaluated with
`ops.ARRAY_MATH`. A chain of '+' whose partial sums feed nothing else (what `sum()` builds)
is one n-ary sum, computed by `np.add.reduceat`; its derivative to every term is 1, as ADD's.

The backward pass pulls: a node's gradient is the sum, over the edges that leave it, of
(the consumer's gradient x the edge's local derivative). Every consumer sits on a higher
level, so one level at a time is one gather, one multiply and one `np.add.reduceat`.

The leaves of the graph are
- inputs: every number of the example becomes a Value; a batch supplies one per example;
- parameters: the Values in `params`, read afresh at each replay; their gradients, summed
  (or averaged) over the batch, accumulate into `.grad` as eager leaves do;
- constants: Values `fn` makes itself, such as the 1 in `1 + x`, frozen at their value.

Python control flow in `fn` (`if x.data > 0:`) runs once, at trace time, and is frozen, as in
`torch.jit.trace`. So the first replay checks the tape against the eager engine on a sample of
the batch and raises `TraceError` when the trace does not hold there.
"""

from __future__ import annotations

import operator

import numpy as np

from . import ops
from .backprop import topological_order
from .grad_mode import enable_grad
from .value import Value

_ARRAY = ops.ARRAY_MATH
_CHECK_SAMPLE = 8  # examples the first replay compares against the eager engine
_BUFFER_BYTES = 32 * 2**20  # replay a large batch in column chunks of about this size


class TraceError(RuntimeError):
    """The traced program does not compute what `fn` computes (frozen control flow, state)."""


def trace(fn, params, example_inputs, *, penalty=None, check=True) -> Tape:
    """Trace ``fn(*example_inputs)``, the loss of one example, into a `Tape`.

    `params` are the Values the tape reads live and puts gradients into: a list, a callable
    returning one (``model.parameters``) or an object with a ``parameters()`` method. When
    that list changes (a new model, added layers) the tape traces `fn` again by itself.
    `penalty`, if given, is a function of no arguments returning a Value built from the
    parameters (``lambda: 1e-4 * sum(p * p for p in params)``), added once to the reduced
    loss. With `check` the first replay compares the tape with the eager engine.
    """
    return Tape(fn, params, example_inputs, penalty=penalty, check=check)


class Tape:
    """A traced per-example function, replayed over whole batches. Made by `trace`."""

    def __init__(self, fn, params, example_inputs, *, penalty=None, check=True):
        if not callable(fn):
            raise TypeError(f"trace(): fn must be callable, got {type(fn).__name__}")
        if penalty is not None and not callable(penalty):
            raise TypeError(
                f"trace(): penalty must be a function of no arguments, got {type(penalty).__name__}"
            )
        self.fn = fn
        self.penalty = penalty
        self.check = check
        self._params_source = params
        self._example = _as_example(example_inputs)
        self.traces = 0  # how many times fn has been traced (retraces included)
        self.retrace()

    # --- tracing --------------------------------------------------------------------------

    def retrace(self):
        """Trace `fn` again: after changing the model in a way its parameters do not show."""
        self.params = _unique_params(self._fetch_params())
        self._index = {p: i for i, p in enumerate(self.params)}
        self._program = self._trace_twice(lambda: self._call(self._example), "fn")
        self._penalty = None
        if self.penalty is not None:
            self._penalty = self._trace_twice(self._call_penalty, "penalty")
        self._checked = not self.check
        self.traces += 1

    def _fetch_params(self):
        source = self._params_source
        if hasattr(source, "parameters") and callable(source.parameters):
            source = source.parameters()
        elif callable(source):
            source = source()
        return list(source)

    def _roles(self, inputs):
        """Classify a leaf: ("param", index), ("input", position) or ("const", value)."""
        index = self._index

        def role(leaf):
            if leaf in index:
                return ("param", index[leaf])
            if leaf in inputs:
                return ("input", inputs[leaf])
            return ("const", leaf.data)

        return role

    def _call(self, example):
        """fn on fresh Values made from one example: (root Value, {input Value: position})."""
        values = []
        args = [_values_like(a, values) for a in example]
        with enable_grad():
            try:
                root = self.fn(*args)
            except TypeError as error:
                if hasattr(error, "add_note"):  # Python 3.11+
                    error.add_note(
                        "note: the tape passes every number of the example to fn as a Value "
                        "(nested lists of Values for arrays)"
                    )
                raise
        return _as_root(root, "fn"), {v: i for i, v in enumerate(values)}

    def _call_penalty(self):
        with enable_grad():
            return _as_root(self.penalty(), "penalty"), {}

    def _trace_twice(self, call, name):
        # Two calls on the same example tell constants (new each call) from Values picked
        # up from outside (the same object both times), and catch randomness.
        first, inputs = call()
        program = _Program(first, self._roles(inputs), name)
        second, inputs = call()
        again = _Program(second, self._roles(inputs), name)
        if program.signature != again.signature:
            raise TraceError(
                f"{name} built different graphs on two calls with the same example: "
                f"{_difference(program, again)}. It draws random numbers or keeps state "
                "(dropout in training mode?), which a tape cannot replay; use the eager engine"
            )
        shared = set(program.const_leaves) & set(again.const_leaves)
        if shared:
            self._raise_captured(next(iter(shared)), name)
        return program

    @staticmethod
    def _raise_captured(leaf, name):
        raise TraceError(
            f"{name} uses {leaf!r}, a Value made outside {name} that is not in params. "
            "The tape would freeze it at its current value; add it to params (then it is "
            f"read live and gets a gradient) or make it inside {name} (then it is a constant)"
        )

    # --- replay ---------------------------------------------------------------------------

    def forward(self, *batch) -> np.ndarray:
        """fn's value for every example of the batch (a numpy array); gradients untouched."""
        columns = self._prepare(batch)
        pdata = self._param_data()
        outputs, _ = self._program.run(columns, pdata, None, self)
        return outputs

    def backward(self, *batch, reduction="mean") -> float:
        """Forward and backward over the batch; returns the loss, gradients go into p.grad.

        The loss is the mean (or with ``reduction="sum"`` the sum) of fn over the examples,
        plus the penalty. Each parameter's ``grad`` accumulates exactly what eager
        ``loss.backward()`` on the same batch would add.
        """
        if reduction not in ("mean", "sum"):
            raise ValueError(f"backward(): reduction must be 'mean' or 'sum', got {reduction!r}")
        columns = self._prepare(batch)
        size = columns.shape[1]
        weight = 1.0 / size if reduction == "mean" else 1.0
        pdata = self._param_data()
        outputs, grads = self._program.run(columns, pdata, weight, self)
        loss = float(outputs.sum()) * weight
        if self._penalty is not None:
            value, extra = self._penalty.run(np.empty((0, 1)), pdata, 1.0, self)
            loss += float(value[0])
            grads += extra
        for p, g in zip(self.params, grads.tolist()):
            p.grad += g
        return loss

    def _prepare(self, batch):
        """Validate the batch, retrace if the model changed, check once: the input rows."""
        columns = _as_columns(batch, self._example)
        current = self._fetch_params()
        if len(current) != len(self.params) or not all(map(operator.is_, current, self.params)):
            if set(current) != set(self.params):  # a new model or new layers: trace again
                self.retrace()
        if not self._checked:
            self._check_against_eager(columns)
        return columns

    def _param_data(self):
        return np.fromiter((p.data for p in self.params), float, len(self.params))

    def _check_against_eager(self, columns):
        sample = _sample(columns.shape[1])
        pdata = self._param_data()
        outputs, per_example = self._program.run(columns[:, sample], pdata, None, self, True)
        for k, j in enumerate(sample):
            root, inputs = self._call(_example_from(columns, j, self._example))
            program = _Program(root, self._roles(inputs), "fn")
            if program.signature != self._program.signature:
                raise TraceError(
                    f"the trace does not hold for example {j} of the batch: "
                    f"{_difference(self._program, program)}. fn's Python control flow ran "
                    "once, on the traced example, and is frozen (an `if` on a value, "
                    "float(v), v.data or a comparison); write the branch with ops "
                    "(relu, abs, ...), or train with the eager engine"
                )
            eager = _eager_gradients(root, self.params)
            if not (_close(outputs[k], root.data) and _close(per_example[:, k], eager)):
                raise TraceError(
                    f"the tape and the eager engine disagree on example {j}: loss "
                    f"{outputs[k]!r} vs {root.data!r}; please report this as a bug"
                )
        if self._penalty is not None:
            value, _ = self._penalty.run(np.empty((0, 1)), pdata, None, self)
            eager = self._call_penalty()[0].data
            if not _close(value[0], eager):
                raise TraceError(
                    f"the traced penalty gives {value[0]!r}, the eager penalty {eager!r}: it "
                    "branches on the parameters' values, which the tape freezes"
                )
        self._checked = True

    def _redo_eagerly(self, name, columns, j, weight=None):
        """Example j (or the penalty) by the eager engine, after the tape met a non-finite
        number there: it raises its own clear error, or gives the gradients (times weight)."""
        where = f"example {j} of the batch" if name == "fn" else "the penalty"
        try:
            if name == "fn":
                root, _ = self._call(_example_from(columns, j, self._example))
            else:
                root, _ = self._call_penalty()
            if weight is not None:
                return _eager_gradients(root, self.params, weight)
        except (ArithmeticError, ValueError) as error:
            raise type(error)(f"{where}: {error}") from error
        return None

    def __repr__(self):
        p = self._program
        return (
            f"<Tape of {p.name}: {p.n_nodes} nodes per example in {len(p.groups)} numpy "
            f"groups on {p.n_levels} levels, {len(self.params)} params>"
        )


class _Group:
    """Nodes of one level with one op, computed by one numpy call; their rows are contiguous."""

    def __init__(self, op, param, rows, operands, terms=0):
        self.op = op  # the ops.Op, or None for sums
        self.param = param  # a unary op's constant parameter (the exponent, the slope)
        self.rows = rows  # slice of the slots this group writes
        self.operands = operands  # per input position, the rows it reads; a sum: all its terms
        self.terms = terms  # how many terms each sum of the group has
        self.edges = []  # per input position: rows of the derivative matrix for its edges


class _Program:
    """One graph compiled to slots, level-ordered groups and the edges backward pulls along."""

    def __init__(self, root, role, name):
        self.name = name
        order = topological_order(root)
        absorbed = _absorbed_sums(order)
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
        self.root = slot[root]

        # Every edge (operand <- consumer), with the group and input position it serves.
        self.groups, edges, signature = [], [], []
        for key in keys:
            members = by_key[key]
            rows = slice(slot[members[0]], slot[members[0]] + len(members))
            if key[1] == "sum":
                terms = [slot[t] for n in members for t in inputs_of[n]]
                group = _Group(None, None, rows, [_rows(terms)], key[2])
                edges.append((terms, [slot[n] for n in members for _ in range(key[2])], group))
                signature.append((key[0], "sum", tuple(terms)))
            else:
                op, param = key[1], key[2]
                positions = [[slot[n.parents[k]] for n in members] for k in range(op.arity)]
                group = _Group(op, param, rows, [_rows(p) for p in positions])
                for targets in positions:
                    edges.append((targets, [slot[n] for n in members], group))
                signature.append((key[0], op, param, tuple(map(tuple, positions))))
            self.groups.append(group)
        self.signature = (self.leaf_roles, tuple(signature))
        levels = np.zeros(self.n_slots, dtype=int)
        for n, s in slot.items():
            levels[s] = level[n]
        self._link_edges(edges, levels)

    def _link_edges(self, edge_lists, levels):
        """Lay out the derivative matrix (a row per edge) and backward's pulls.

        A node's gradient sums its outgoing edges, so the edges are ordered by the level of
        their operand (top first), then by how many edges the operand has (c), then by
        operand: the c edges of each operand are adjacent and one ``reshape(-1, c, n).sum(1)``
        adds them up for all operands of a level with the same c.
        """
        target = np.array([t for targets, _, _ in edge_lists for t in targets], dtype=int)
        consumer = np.array([c for _, consumers, _ in edge_lists for c in consumers], dtype=int)
        fan_out = np.bincount(target, minlength=self.n_slots)
        order = np.lexsort((target, fan_out[target], -levels[target]))
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

        target, consumer = target[order], consumer[order]
        key = np.stack([levels[target], fan_out[target]], axis=1)
        bounds = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]).any(axis=1), True])
        self.pulls = []  # (operand rows, consumer rows, edge rows, edges per operand)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            c = int(fan_out[target[lo]])
            self.pulls.append((_rows(target[lo:hi:c]), _rows(consumer[lo:hi]), slice(lo, hi), c))

    # --- replay ---------------------------------------------------------------------------

    def run(self, columns, pdata, weight, tape, per_example=False):
        """Replay over the batch columns: (outputs, parameter gradients) or (outputs, None).

        With a `weight` the gradients of the examples, each scaled by it, are summed into
        one vector over the tape's parameters; with `per_example` they come per column.
        """
        size = columns.shape[1]
        chunk = max(1, _BUFFER_BYTES // (8 * (2 * self.n_slots + self.n_edges)))
        outputs = np.empty(size)
        total = np.zeros(len(tape.params))
        per = np.zeros((len(tape.params), size)) if per_example else None
        for lo in range(0, size, chunk):
            cols = slice(lo, min(size, lo + chunk))
            width = cols.stop - lo
            V, G, D = self._buffers(width)
            V[: self.n_params] = pdata[self.param_ids, None]
            V[self.n_params : self.n_params + self.n_inputs] = columns[self.input_ids, cols]
            saved = self._forward(V, width, columns, cols, tape)
            outputs[cols] = V[self.root]
            if weight is None and not per_example:
                continue
            self._derivatives(V, D, saved)
            G[self.root] = 1.0 if per_example else weight
            with np.errstate(all="ignore"):  # non-finite gradients are dealt with below
                for targets, consumers, edges, c in self.pulls:
                    pulled = G[consumers] * D[edges]
                    G[targets] = pulled if c == 1 else pulled.reshape(-1, c, width).sum(axis=1)
            if per_example:
                per[self.param_ids, cols] = G[: self.n_params]
                continue
            sums = G[: self.n_params].sum(axis=1)
            others = G[self.n_params : self.n_leaves]
            if not (np.isfinite(sums).all() and np.isfinite(others).all()):
                sums = self._redo_non_finite(G, columns, cols, weight, tape)
            total[self.param_ids] += sums
        return outputs, (per if per_example else total)

    def _buffers(self, width):
        cache = self.__dict__.setdefault("_cache", {})
        if width not in cache:
            if len(cache) > 3:
                cache.clear()
            V = np.empty((self.n_slots, width))
            V[self.n_params + self.n_inputs : self.n_leaves] = self.const_values[:, None]
            D = np.empty((self.n_edges, width))
            D[self.ones] = 1.0
            cache[width] = (V, np.empty_like(V), D)
        return cache[width]

    def _forward(self, V, width, columns, cols, tape):
        saved = []
        with np.errstate(all="raise", under="ignore"):
            try:
                for g in self.groups:
                    x = V[g.operands[0]]
                    if g.op is None:
                        x.reshape(-1, g.terms, width).sum(axis=1, out=V[g.rows])
                        saved.append(None)
                        continue
                    y = V[g.operands[1]] if g.op.arity == 2 else g.param
                    V[g.rows] = g.op.array_forward(x) if y is None else g.op.array_forward(x, y)
                    saved.append((x, y))
            except FloatingPointError as error:
                self._explain_forward_error(g, V, width, columns, cols, tape, error)
        return saved

    def _explain_forward_error(self, group, V, width, columns, cols, tape, error):
        op = group.op or ops.ADD
        with np.errstate(all="ignore"):
            x = V[group.operands[0]]
            if group.op is None:
                out = x.reshape(-1, group.terms, width).sum(axis=1)
            else:
                y = V[group.operands[1]] if op.arity == 2 else group.param
                out = op.array_forward(x) if y is None else op.array_forward(x, y)
        bad = np.flatnonzero(~np.isfinite(out).all(axis=0))
        j = cols.start + (int(bad[0]) if len(bad) else 0)
        tape._redo_eagerly(self.name, columns, j)  # raises the eager engine's own error
        raise FloatingPointError(
            f"tape replay of {self.name}: {op.name!r} gives a non-finite value for "
            f"example {j} ({error})"
        ) from error

    def _derivatives(self, V, D, saved):
        with np.errstate(all="ignore"):  # a non-finite derivative is dealt with after backward
            for g, xy in zip(self.groups, saved):
                if xy is None:
                    continue  # a sum: every derivative is 1, set when the buffers were made
                x, y = xy
                out = V[g.rows]
                for d, rows in zip(g.op.derivatives, g.edges):
                    D[rows] = d(_ARRAY, x, y, out)

    def _redo_non_finite(self, G, columns, cols, weight, tape):
        """Gradient sums when some examples' gradients are not finite.

        The eager engine skips a node whose gradient is 0, so an infinite local derivative
        there is harmless to it but gives 0 x inf = nan here. Those examples go through the
        eager engine, which either raises its error or gives their finite gradients.
        """
        leaves = G[: self.n_leaves]
        bad = ~np.isfinite(leaves).all(axis=0)
        sums = np.where(bad, 0.0, G[: self.n_params]).sum(axis=1)
        for j in np.flatnonzero(bad):
            sums += tape._redo_eagerly(self.name, columns, cols.start + j, weight)[self.param_ids]
        if not np.isfinite(sums).all():
            raise OverflowError(
                f"tape replay of {self.name}: the parameters' gradients summed over the batch "
                "overflow a float; scale the loss or the inputs down"
            )
        return sums


# --- helpers ----------------------------------------------------------------------------


def _absorbed_sums(order):
    """The '+' nodes whose only consumer is another '+': partial sums of an n-ary sum."""
    uses, add_uses = {}, {}
    for n in order:
        op = n._op
        if op is None:
            continue
        for p in n.parents:
            uses[p] = uses.get(p, 0) + 1
            if op is ops.ADD:
                add_uses[p] = add_uses.get(p, 0) + 1
    return {
        n for n in order if n._op is ops.ADD and uses.get(n) == 1 and add_uses.get(n) == 1
    }


def _sum_terms(node, absorbed):
    """The terms of an n-ary sum, left to right (iteratively: sums can be long)."""
    terms, stack = [], [node._b, node._a]
    while stack:
        n = stack.pop()
        if n in absorbed:
            stack += [n._b, n._a]
        else:
            terms.append(n)
    return terms


def _rows(indices):
    """Rows as a slice when they are consecutive (a view, no copy), else an index array."""
    indices = np.asarray(indices, dtype=int)
    if len(indices) and (np.diff(indices) == 1).all():
        return slice(int(indices[0]), int(indices[-1]) + 1)
    return indices


def _unique_params(params):
    seen, unique = set(), []
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"trace(): params[{i}] is {type(p).__name__}, not a Value")
        if p._op is not None:
            raise TypeError(
                f"trace(): params[{i}] is computed by {p.op!r}; parameters must be leaves"
            )
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


def _as_root(result, name):
    if not isinstance(result, Value):
        raise TypeError(
            f"trace(): {name} must return one Value (the loss of one example), "
            f"got {type(result).__name__}"
        )
    return result


def _as_example(example):
    if not isinstance(example, tuple):
        raise TypeError(
            "trace(): example_inputs must be a tuple of fn's arguments, such as (X[0], y[0]); "
            f"for a single argument write (X[0],). Got {type(example).__name__}"
        )
    arrays = []
    for k, arg in enumerate(example):
        a = np.asarray(arg)
        if a.dtype.kind not in "biuf":
            raise TypeError(
                f"trace(): example_inputs[{k}] must be a number or an array of numbers "
                f"(the tape makes the Values), got {type(arg).__name__}"
            )
        a = a.astype(float)
        if not np.isfinite(a).all():
            raise ValueError(f"trace(): example_inputs[{k}] has a non-finite number: {arg!r}")
        arrays.append(a)
    return tuple(arrays)


def _values_like(array, made):
    """Values in the shape of `array` (a Value, or nested lists), appended to `made` in order."""
    if array.ndim == 0:
        v = Value(float(array))
        made.append(v)
        return v
    return [_values_like(row, made) for row in array]


def _as_columns(batch, example):
    """The batch as one matrix: a row per number of an example, a column per example."""
    if len(batch) != len(example):
        raise TypeError(
            f"the tape was traced with {len(example)} argument(s) per example, "
            f"got {len(batch)} batch argument(s)"
        )
    parts, size = [], None
    for k, (arg, ex) in enumerate(zip(batch, example)):
        a = np.asarray(arg, dtype=float)
        if a.ndim != ex.ndim + 1 or a.shape[1:] != ex.shape:
            raise ValueError(
                f"batch argument {k} has shape {a.shape}; the traced example's is {ex.shape}, "
                f"so the batch needs shape (batch size, {', '.join(map(str, ex.shape))})"
            )
        if size is None:
            size = len(a)
        elif len(a) != size:
            raise ValueError(f"batch argument {k} has {len(a)} examples, argument 0 has {size}")
        parts.append(a.reshape(size, -1))
    if not size:
        raise ValueError("the batch is empty")
    matrix = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
    if not np.isfinite(matrix).all():
        j, i = np.argwhere(~np.isfinite(matrix))[0]
        raise ValueError(f"example {j} of the batch has a non-finite number: {matrix[j, i]!r}")
    return np.ascontiguousarray(matrix.T)


def _example_from(columns, j, example):
    """Example j of the batch, shaped like the traced example."""
    parts, start = [], 0
    for a in example:
        parts.append(columns[start : start + a.size, j].reshape(a.shape))
        start += a.size
    return tuple(parts)


def _sample(size):
    if size <= _CHECK_SAMPLE:
        return np.arange(size)
    inner = np.random.default_rng(0).choice(np.arange(1, size - 1), _CHECK_SAMPLE - 2, False)
    return np.sort(np.r_[0, size - 1, inner])


def _eager_gradients(root, params, weight=1.0):
    """d(root)/d(p) for each param by eager backward (which skips nodes of zero gradient)."""
    saved = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    try:
        root.backward(weight)
        return np.array([p.grad for p in params])
    finally:
        for p, g in zip(params, saved):
            p.grad = g


def _close(a, b):
    return np.allclose(a, b, rtol=1e-7, atol=1e-9)


def _difference(traced, other):
    """Where two programs differ, in words."""
    a, b = traced.leaf_roles, other.leaf_roles
    if a != b:
        for (kind, x), (kind2, y) in zip(a, b):
            if kind == kind2 == "const" and x != y:
                return f"a constant fn makes is {y!r} here but was {x!r} when traced"
        return (
            f"it reads {_count(b)} where the trace reads {_count(a)}"
            if len(a) != len(b) or [r[0] for r in a] != [r[0] for r in b]
            else "it reads other inputs or parameters than the trace"
        )
    for ga, gb in zip(traced.signature[1], other.signature[1]):
        if ga != gb:
            return (
                f"at level {ga[0]} the trace computes {_describe(ga)}, "
                f"this example {_describe(gb)}"
            )
    return f"the trace has {traced.n_nodes} nodes, this example's graph {other.n_nodes}"


def _count(roles):
    kinds = [r[0] for r in roles]
    return ", ".join(f"{kinds.count(k)} {k}s" for k in ("param", "input", "const"))


def _describe(group):
    if group[1] == "sum":
        return f"{len(group[2])} sum(s)"
    where = f" ({group[1].param}={group[2]:g})" if group[1].param else ""
    return f"{len(group[3][0])} x {group[1].name!r}{where}"
