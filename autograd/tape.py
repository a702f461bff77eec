"""The batched tape: trace a function of one example once, replay it over a batch with numpy.

    def hinge(x, y):                              # one example, written with Values as usual
        return (1 + -y * model(x)).relu()

    tape = trace(hinge, model.parameters(), example_inputs=(X[0], y[0]))
    model.zero_grad()
    loss = tape.backward(X, y)                    # mean over the batch; gradients in p.grad

Tracing calls `fn` on Values made from the example and compiles its graph into a program.
Every node gets a row (a "slot") that holds its value for every example of the batch. Nodes
are grouped by level (the longest path from a leaf) and op, so one numpy call computes all
same-op nodes of a level for the whole batch. Values come from each op's `array_forward`,
local derivatives from the very `derivatives` the eager engine uses, evaluated with
`ops.ARRAY_MATH`. A chain of '+' whose partial sums feed nothing else (what `sum()` builds)
is one n-ary sum, added up in the same order; its derivative to every term is 1, as ADD's.

The backward pass pulls: a node's gradient is the sum, over the edges that leave it, of
(the consumer's gradient x the edge's local derivative). Consumers sit on higher levels, so
the gradients are complete level by level, from the top: one gather, one multiply and one
sum per level and fan-out.

The leaves of the graph are
- inputs: every number of the example becomes a Value; a batch gives one per example;
- parameters: the Values in `params`, read afresh at each replay; their gradients, summed
  (or averaged) over the batch, accumulate into `.grad` as eager leaves' do;
- constants: Values `fn` makes itself, such as the 1 in `1 + x`, frozen at their value.

Python control flow in `fn` (`if x.data > 0:`) runs once, at trace time, and is frozen, as in
`torch.jit.trace`. So the first replay checks the tape against the eager engine on a sample of
the batch and raises `TraceError` when the trace does not hold there. Arguments listed in
`static` (class indices, say) reach `fn` as plain numbers instead: the tape keeps one
program per distinct value, as `jax.jit`'s static arguments do.
"""

from __future__ import annotations

import operator

import numpy as np

from . import ops
from .backprop import topological_order
from .grad_mode import enable_grad
from .value import Value

_ARRAY = ops.ARRAY_MATH
_CHECK_SAMPLE = 8  # examples the first replay of a program compares with the eager engine
_BUFFER_BYTES = 32 * 2**20  # a large batch is replayed in column chunks of about this size


class TraceError(RuntimeError):
    """The traced program does not compute what `fn` computes (frozen control flow, state)."""


def trace(fn, params, example_inputs, *, penalty=None, has_aux=False, static=(), check=True):
    """Trace ``fn(*example_inputs)``, the loss of one example, into a `Tape`.

    `params` are the Values the tape reads live and puts gradients into: a list, a callable
    returning one (``model.parameters``) or an object with a ``parameters()`` method. When
    that list changes (a new model, more layers) the tape traces `fn` again by itself.
    `penalty`, a function of no arguments returning a Value made from the parameters
    (``lambda: 1e-4 * sum(p * p for p in params)``), is added once to the batch's loss.
    With `has_aux`, fn returns ``(loss, aux)``: aux (a Value or nested list of Values, such
    as the model's outputs) comes back as an array beside the loss. `static` lists argument
    positions passed as numbers, not Values. `check`: compare with eager on first replays.
    """
    return Tape(
        fn, params, example_inputs, penalty=penalty, has_aux=has_aux, static=static, check=check
    )


class Tape:
    """A traced per-example function, replayed over whole batches. Made by `trace`."""

    def __init__(self, fn, params, example_inputs, *, penalty=None, has_aux=False, static=(),
                 check=True):
        if not callable(fn):
            raise TypeError(f"trace(): fn must be callable, got {type(fn).__name__}")
        if penalty is not None and not callable(penalty):
            raise TypeError(
                f"trace(): penalty must be a function of no arguments, got {type(penalty).__name__}"
            )
        self.fn, self.penalty, self.has_aux, self.check = fn, penalty, has_aux, check
        self._params_source = params
        self._static = _as_static(static, example_inputs)
        self._example = tuple(
            _hashable(a) if k in self._static else _as_array(a, k)
            for k, a in enumerate(example_inputs)
        )
        self.traces = 0  # how many times fn has been traced: retraces and static values count
        self.retrace()

    # --- tracing --------------------------------------------------------------------------

    def retrace(self):
        """Trace `fn` again: after changing the model in a way its parameters do not show.

        If tracing fails the tape stays as it was.
        """
        state = dict(self.__dict__)
        try:
            self.params = _unique_params(self._fetch_params())
            self._index = {p: i for i, p in enumerate(self.params)}
            self._programs, self._checked = {}, set()
            key = tuple(self._example[k] for k in self._static)
            dynamic = [a for k, a in enumerate(self._example) if k not in self._static]
            self._program_for(key, dynamic)
            self._penalty = None
            if self.penalty is not None:
                self._penalty = self._trace_twice(self._call_penalty, "penalty")
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fetch_params(self):
        source = self._params_source
        if hasattr(source, "parameters") and callable(source.parameters):
            source = source.parameters()
        elif callable(source):
            source = source()
        return list(source)

    def _program_for(self, key, dynamic):
        """The program for one value of the static arguments, traced on first sight."""
        program = self._programs.get(key)
        if program is None:
            program = self._trace_twice(lambda: self._call(dynamic, key), "fn")
            first = next(iter(self._programs.values()), program)
            if program.shapes != first.shapes:
                raise TraceError(
                    f"fn returns outputs of shapes {program.shapes} for static arguments "
                    f"{key}, but {first.shapes} for others; they must not change"
                )
            self._programs[key] = program
            self.traces += 1
        return program

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

    def _call(self, dynamic, key):
        """fn on one example, with fresh Values for its numbers: (outputs, shapes, inputs)."""
        values, dynamic, key = [], iter(dynamic), iter(key)
        args = [
            next(key) if k in self._static else _values_like(next(dynamic), values)
            for k in range(len(self._example))
        ]
        with enable_grad():
            try:
                result = self.fn(*args)
            except TypeError as error:
                if hasattr(error, "add_note"):  # Python 3.11+
                    error.add_note(
                        "note: the tape passes the example's numbers to fn as Values (nested "
                        "lists of Values for arrays); list arguments used as indices in static"
                    )
                raise
        outputs, shapes = _as_outputs(result, self.has_aux)
        return outputs, shapes, {v: i for i, v in enumerate(values)}

    def _call_penalty(self):
        with enable_grad():
            result = self.penalty()
        if not isinstance(result, Value):
            raise TypeError(f"trace(): penalty must return a Value, got {type(result).__name__}")
        return [result], ((), None), {}

    def _trace_twice(self, call, name):
        # Two calls on the same example tell constants (new each call) from Values picked
        # up from outside (the same object both times), and catch randomness.
        outputs, shapes, inputs = call()
        program = _Program(outputs, shapes, self._roles(inputs), name)
        outputs, shapes, inputs = call()
        again = _Program(outputs, shapes, self._roles(inputs), name)
        if program.signature != again.signature:
            raise TraceError(
                f"{name} built different graphs on two calls with the same example: "
                f"{_difference(program, again)}. It draws random numbers or keeps state "
                "(dropout in training mode?), which a tape cannot replay; use the eager engine"
            )
        shared = set(program.const_leaves) & set(again.const_leaves)
        if shared:
            leaf = next(iter(shared))
            raise TraceError(
                f"{name} uses {leaf!r}, a Value made outside {name} that is not in params. "
                "The tape would freeze it at its current value; add it to params (then it is "
                f"read live and gets a gradient) or make it inside {name} (then it is a constant)"
            )
        return program

    # --- replay ---------------------------------------------------------------------------

    def forward(self, *batch):
        """fn's value for every example of the batch, as an array (one row per example).

        With `has_aux` returns ``(losses, aux)``. Gradients are left untouched.
        """
        outputs, _, _ = self._replay(batch, None)
        return self._split_outputs(outputs)

    def backward(self, *batch, reduction="mean"):
        """Forward and backward over the batch: returns the loss, gradients go into p.grad.

        The loss is the mean (or with ``reduction="sum"`` the sum) of fn over the examples,
        plus the penalty. Each parameter's ``grad`` accumulates exactly what eager
        ``loss.backward()`` would add on the same batch. With `has_aux` returns
        ``(loss, aux)``, aux holding one row per example.
        """
        if reduction not in ("mean", "sum"):
            raise ValueError(f"backward(): reduction must be 'mean' or 'sum', got {reduction!r}")
        if self._shapes[0] != ():
            raise TypeError(
                f"backward() needs fn to return one Value per example (its loss); it returns "
                f"shape {self._shapes[0]}. Reduce it to one Value, or return (loss, outputs) "
                "with has_aux=True"
            )
        outputs, grads, pdata = self._replay(batch, reduction)
        weight = 1.0 / outputs.shape[1] if reduction == "mean" else 1.0
        loss = float(outputs[0].sum()) * weight
        if self._penalty is not None:
            value, extra = self._penalty.run(_Examples.single(), pdata, 1.0, self)
            loss += float(value[0, 0])
            grads += extra
        for p, g in zip(self.params, grads.tolist()):
            p.grad += g
        return (loss, self._split_outputs(outputs)[1]) if self.has_aux else loss

    @property
    def _shapes(self):
        return next(iter(self._programs.values())).shapes

    def _split_outputs(self, outputs):
        main, aux = self._shapes
        size = outputs.shape[1]
        n = int(np.prod(main, dtype=int))
        first = outputs[:n].T.reshape((size, *main))
        if not self.has_aux:
            return first
        return first, outputs[n:].T.reshape((size, *aux))

    def _replay(self, batch, reduction):
        """Outputs (a row per output, a column per example), the summed gradients and the
        parameters' values they were computed at."""
        examples = _as_batch(batch, self._example, self._static)
        current = self._fetch_params()
        if len(current) != len(self.params) or not all(map(operator.is_, current, self.params)):
            if set(current) != set(self.params):  # a new model or new layers: trace again
                self.retrace()
        pdata = self._param_data()
        size = examples.size
        weight = None if reduction is None else (1.0 / size if reduction == "mean" else 1.0)
        outputs, grads = None, np.zeros(len(self.params))
        for part in examples.parts():
            program = self._program_for(part.key, part.example())
            if self.check and part.key not in self._checked:
                self._check_against_eager(program, part, pdata)
            values, part_grads = program.run(part, pdata, weight, self)
            if outputs is None:
                outputs = np.empty((len(values), size))
            outputs[:, part.index] = values
            if weight is not None:
                grads += part_grads
        return outputs, grads, pdata

    def _param_data(self):
        return np.fromiter((p.data for p in self.params), float, len(self.params))

    def _check_against_eager(self, program, part, pdata):
        sample = part.sample(_CHECK_SAMPLE)
        scalar = program.shapes[0] == ()  # gradients only of a loss
        values, per_example = program.run(sample, pdata, None, self, per_example=scalar)
        for k in range(sample.size):
            j = sample.index[k]
            outputs, shapes, inputs = self._call(sample.example(k), part.key)
            eager = _Program(outputs, shapes, self._roles(inputs), "fn")
            eager_values = [v.data for v in outputs]
            same = _close(values[:, k], eager_values) and (
                not scalar or _close(per_example[:, k], _eager_gradients(outputs[0], self.params))
            )
            # Constants may differ where they cancel (a log-sum-exp's shift), the numbers not.
            if eager.structure != program.structure or not same:
                raise TraceError(
                    f"the trace does not hold for example {j} of the batch: "
                    f"{_difference(program, eager)}. fn's Python control flow ran once, on "
                    "the traced example, and is frozen (an `if` on a value, float(v), v.data, "
                    "a comparison); write the branch with ops (relu, abs, ...), pass such "
                    "arguments in static, or train with the eager engine"
                )
        if self._penalty is not None and not self._checked:
            value, _ = self._penalty.run(_Examples.single(), pdata, None, self)
            eager = self._call_penalty()[0][0].data
            if not _close(value[0, 0], eager):
                raise TraceError(
                    f"the traced penalty gives {value[0, 0]!r}, the eager penalty {eager!r}: "
                    "it branches on the parameters' values, which the tape freezes"
                )
        self._checked.add(part.key)

    def _redo_eagerly(self, name, part, k, weight=None):
        """Example k of a part (or the penalty) by the eager engine, after the tape met a
        non-finite number: it raises its own clear error, or gives the gradients x weight."""
        where = f"example {part.index[k]} of the batch" if name == "fn" else "the penalty"
        try:
            if name == "fn":
                outputs, shapes, _ = self._call(part.example(k), part.key)
            else:
                outputs, shapes, _ = self._call_penalty()
            if weight is not None:
                return _eager_gradients(outputs[0], self.params, weight)
        except (ArithmeticError, ValueError) as error:
            raise type(error)(f"{where}: {error}") from error
        return None

    def __repr__(self):
        p = next(iter(self._programs.values()))
        more = f" (+{len(self._programs) - 1} for other static values)" * (len(self._programs) > 1)
        return (
            f"<Tape: {p.n_nodes} nodes per example in {len(p.groups)} numpy groups on "
            f"{p.n_levels} levels{more}, {len(self.params)} params>"
        )


class _Examples:
    """Some examples of a batch: a row per number of an example and a column per example,
    their positions in the batch, and the values of their static arguments (`key`)."""

    def __init__(self, columns, index, key, example, static_columns=None):
        self.columns, self.index, self.key = columns, index, key
        self.size = columns.shape[1]
        self._example = example  # the traced example, for the shapes of dynamic arguments
        self._static_columns = static_columns  # per example, its static values

    @classmethod
    def single(cls):
        """One column and no inputs: what the penalty is replayed on."""
        return cls(np.empty((0, 1)), np.zeros(1, dtype=int), (), ())

    def parts(self):
        """The examples grouped by their static values."""
        if self._static_columns is None:
            yield self
            return
        groups = {}
        for j, key in enumerate(self._static_columns):
            groups.setdefault(key, []).append(j)
        for key, js in groups.items():
            js = np.array(js)
            yield _Examples(self.columns[:, js], self.index[js], key, self._example)

    def sample(self, n):
        if self.size <= n:
            return self
        inner = np.random.default_rng(0).choice(np.arange(1, self.size - 1), n - 2, False)
        ks = np.sort(np.r_[0, self.size - 1, inner])
        return _Examples(self.columns[:, ks], self.index[ks], self.key, self._example)

    def example(self, k=0):
        """Example k's dynamic arguments, shaped like the traced example's."""
        parts, start = [], 0
        for a in self._example:
            if isinstance(a, np.ndarray):
                parts.append(self.columns[start : start + a.size, k].reshape(a.shape))
                start += a.size
        return parts


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
    """A graph compiled to slots, level-ordered groups and the edges backward pulls along.

    `outputs` are the Values whose numbers a replay returns; the first is the one backward
    differentiates (the loss).
    """

    def __init__(self, outputs, shapes, role, name):
        self.name, self.shapes = name, shapes
        order, seen = [], set()
        for out in outputs:  # one order for all outputs, inputs before what uses them
            for n in topological_order(out):
                if n not in seen:
                    seen.add(n)
                    order.append(n)
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

    # --- replay ---------------------------------------------------------------------------

    def run(self, examples, pdata, weight, tape, per_example=False):
        """Replay over some examples: (outputs, gradients over the tape's parameters).

        Without a `weight` (and not `per_example`) there is no backward pass. With one, the
        examples' gradients, each times `weight`, are summed; `per_example` keeps a column
        per example instead.
        """
        size = examples.size
        chunk = max(1, _BUFFER_BYTES // (8 * (2 * self.n_slots + self.n_edges)))
        outputs = np.empty((len(self.outputs), size))
        grads = np.zeros((len(tape.params), size) if per_example else len(tape.params))
        backward = weight is not None or per_example
        for lo in range(0, size, chunk):
            cols = slice(lo, min(size, lo + chunk))
            width = cols.stop - lo
            buffers = self._buffers(width)
            V, G, D = buffers.V, buffers.G, buffers.D
            V[: self.n_params] = pdata[self.param_ids, None]
            inputs = slice(self.n_params, self.n_params + self.n_inputs)
            V[inputs] = examples.columns[self.input_ids, cols]
            saved = self._forward(buffers, examples, lo, tape)
            outputs[:, cols] = V[self.outputs]
            if not backward:
                continue
            self._derivatives(V, D, saved)
            G[self.outputs[0]] = 1.0 if per_example else weight
            with np.errstate(all="ignore"):  # non-finite gradients are dealt with below
                for (targets, consumers, edges, c), (gathered, product, into) in zip(
                    self.pulls, buffers.pulls
                ):
                    np.multiply(_gather(G, consumers, gathered), D[edges], out=product)
                    if c > 1:
                        product.reshape(-1, c, width).sum(axis=1, out=into)
                    if isinstance(targets, np.ndarray):
                        G[targets] = into
            if per_example:
                grads[self.param_ids, cols] = G[: self.n_params]
                for k in np.flatnonzero(~np.isfinite(G[: self.n_leaves]).all(axis=0)):
                    grads[:, lo + k] = tape._redo_eagerly(self.name, examples, lo + k, 1.0)
                continue
            sums = G[: self.n_params].sum(axis=1)
            others = G[self.n_params : self.n_leaves]
            if not (np.isfinite(sums).all() and np.isfinite(others).all()):
                sums = self._redo_non_finite(G, examples, lo, weight, tape)
            grads[self.param_ids] += sums
        return outputs, grads

    def _buffers(self, width):
        cache = self.__dict__.setdefault("_cache", {})
        if width not in cache:
            if len(cache) > 3:
                cache.clear()
            cache[width] = _Buffers(self, width)
        return cache[width]

    def _forward(self, buffers, examples, lo, tape):
        V, width, saved = buffers.V, buffers.width, []
        with np.errstate(all="raise", under="ignore"):
            try:
                for g, into in zip(self.groups, buffers.operands):
                    x = _gather(V, g.operands[0], into[0])
                    if g.op is None:
                        x.reshape(-1, g.terms, width).sum(axis=1, out=V[g.rows])
                        saved.append(None)
                        continue
                    y = _gather(V, g.operands[1], into[1]) if g.op.arity == 2 else g.param
                    V[g.rows] = g.op.array_forward(x) if y is None else g.op.array_forward(x, y)
                    saved.append((x, y))
            except FloatingPointError as error:
                self._explain_forward_error(g, V, width, examples, lo, tape, error)
        return saved

    def _explain_forward_error(self, group, V, width, examples, lo, tape, error):
        op = group.op or ops.ADD
        with np.errstate(all="ignore"):
            x = V[group.operands[0]]
            if group.op is None:
                out = x.reshape(-1, group.terms, width).sum(axis=1)
            else:
                y = V[group.operands[1]] if op.arity == 2 else group.param
                out = op.array_forward(x) if y is None else op.array_forward(x, y)
        bad = np.flatnonzero(~np.isfinite(out).all(axis=0))
        k = lo + (int(bad[0]) if len(bad) else 0)
        tape._redo_eagerly(self.name, examples, k)  # raises the eager engine's own error
        raise FloatingPointError(
            f"tape replay of {self.name}: {op.name!r} gives a non-finite value for example "
            f"{examples.index[k]} of the batch ({error}), where the eager engine does not: "
            "a constant fn computed from the traced example's numbers (a log-sum-exp's shift?) "
            "does not suit this example; use the eager engine"
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

    def _redo_non_finite(self, G, examples, lo, weight, tape):
        """Gradient sums when some examples' gradients are not finite.

        The eager engine skips a node whose gradient is 0, so an infinite local derivative
        there is harmless to it but gives 0 x inf = nan here. Those examples go through the
        eager engine, which either raises its error or gives their finite gradients.
        """
        bad = ~np.isfinite(G[: self.n_leaves]).all(axis=0)
        sums = np.where(bad, 0.0, G[: self.n_params]).sum(axis=1)
        for k in np.flatnonzero(bad):
            sums += tape._redo_eagerly(self.name, examples, lo + k, weight)[self.param_ids]
        if not np.isfinite(sums).all():
            raise OverflowError(
                f"tape replay of {self.name}: the parameters' gradients summed over the batch "
                "overflow a float; scale the loss or the inputs down"
            )
        return sums


class _Buffers:
    """The arrays a program replays into, for `width` examples, made once and reused.

    Values, gradients and local derivatives, and scratch space for gathered rows that
    numpy calls fill with ``out=``: a big temporary made and freed on every call costs
    more in page faults than the arithmetic it holds.
    """

    def __init__(self, program, width):
        p = program
        self.width = width
        self.V = np.empty((p.n_slots, width))
        self.V[p.n_params + p.n_inputs : p.n_leaves] = p.const_values[:, None]
        self.G = np.zeros_like(self.V)  # gradients outside the loss's graph stay 0
        self.D = np.empty((p.n_edges, width))
        self.D[p.ones] = 1.0
        self.operands = [[_scratch(rows, width) for rows in g.operands] for g in p.groups]
        # Per pull: space for the consumers' gradients, for the products with the local
        # derivatives and for their sums per operand; results go straight into G's rows
        # when these are a slice.
        self.pulls = []
        for targets, consumers, edges, c in p.pulls:
            into = self.G[targets] if isinstance(targets, slice) else _scratch(targets, width)
            product = np.empty((edges.stop - edges.start, width)) if c > 1 else into
            self.pulls.append((_scratch(consumers, width), product, into))


def _scratch(rows, width):
    """Space for gathering `rows` (None when they are a slice: a view needs none)."""
    return None if isinstance(rows, slice) else np.empty((len(rows), width))


def _gather(array, rows, out):
    """array[rows], into `out` when rows is an index array ('clip': no hidden buffer)."""
    if isinstance(rows, slice):
        return array[rows]
    return np.take(array, rows, axis=0, out=out, mode="clip")


# --- helpers ----------------------------------------------------------------------------


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


def _as_outputs(result, has_aux):
    """fn's result as (a flat list of Values, (shape of the result, shape of aux or None))."""
    if has_aux:
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(
                "trace(): with has_aux=True fn must return (loss, aux), "
                f"got {type(result).__name__}"
            )
        main, main_shape = _flatten_values(result[0], "fn's loss")
        aux, aux_shape = _flatten_values(result[1], "fn's aux")
        return main + aux, (main_shape, aux_shape)
    values, shape = _flatten_values(result, "fn's result")
    return values, (shape, None)


def _flatten_values(x, what):
    if isinstance(x, Value):
        return [x], ()
    if isinstance(x, (list, tuple)) and x:
        parts = [_flatten_values(item, what) for item in x]
        if any(shape != parts[0][1] for _, shape in parts):
            raise ValueError(f"trace(): {what} is ragged; its items must all have one shape")
        return [v for values, _ in parts for v in values], (len(x), *parts[0][1])
    raise TypeError(
        f"trace(): {what} must be a Value or a (nested) list of Values, "
        f"got {type(x).__name__}: {x!r}"
    )


def _as_static(static, example):
    if not isinstance(example, tuple):
        raise TypeError(
            "trace(): example_inputs must be a tuple of fn's arguments, such as (X[0], y[0]); "
            f"for a single argument write (X[0],). Got {type(example).__name__}"
        )
    static = (static,) if isinstance(static, int) else tuple(static)
    for k in static:
        if not isinstance(k, int) or not 0 <= k < len(example):
            raise ValueError(
                f"trace(): static={static!r} must list argument positions of fn, "
                f"0 to {len(example) - 1}"
            )
    return frozenset(static)


def _as_array(arg, k):
    a = np.asarray(arg)
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"trace(): example_inputs[{k}] must be a number or an array of numbers (the tape "
            f"makes the Values), got {type(arg).__name__}"
        )
    a = a.astype(float)
    if not np.isfinite(a).all():
        raise ValueError(f"trace(): example_inputs[{k}] has a non-finite number: {arg!r}")
    return a


def _hashable(x):
    """A static argument as plain Python numbers (nested tuples for arrays)."""
    x = np.asarray(x).tolist()
    return _tuples(x)


def _tuples(x):
    return tuple(_tuples(item) for item in x) if isinstance(x, list) else x


def _values_like(array, made):
    """Values in the shape of `array` (a Value, or nested lists), appended to `made` in order."""
    if array.ndim == 0:
        v = Value(float(array))
        made.append(v)
        return v
    return [_values_like(row, made) for row in array]


def _as_batch(batch, example, static):
    """The batch as `_Examples`: its numbers in one matrix, its static values per example."""
    if len(batch) != len(example):
        raise TypeError(
            f"the tape was traced with {len(example)} argument(s) per example, "
            f"got {len(batch)} batch argument(s)"
        )
    parts, statics, size = [], [], None
    for k, (arg, ex) in enumerate(zip(batch, example)):
        a = np.asarray(arg) if k in static else np.asarray(arg, dtype=float)
        ex_shape = np.shape(ex)
        if a.ndim != len(ex_shape) + 1 or a.shape[1:] != ex_shape:
            raise ValueError(
                f"batch argument {k} has shape {a.shape}; the traced example's is {ex_shape}, "
                f"so the batch needs shape (batch size, {', '.join(map(str, ex_shape))})"
            )
        if size is None:
            size = len(a)
        elif len(a) != size:
            raise ValueError(f"batch argument {k} has {len(a)} examples, argument 0 has {size}")
        if k in static:
            statics.append([_tuples(row) for row in a.tolist()])
        else:
            parts.append(a.reshape(size, -1))
    if not size:
        raise ValueError("the batch is empty (or fn takes no arguments)")
    matrix = np.concatenate(parts, axis=1) if parts else np.empty((size, 0))
    if not np.isfinite(matrix).all():
        j, i = np.argwhere(~np.isfinite(matrix))[0]
        raise ValueError(f"example {j} of the batch has a non-finite number: {matrix[j, i]!r}")
    keys = list(zip(*statics)) if statics else None
    return _Examples(np.ascontiguousarray(matrix.T), np.arange(size), (), example, keys)


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
    where = f" ({group[1].param}={group[2]:g})" if group[1].param else ""
    return f"{len(group[3][0])} x {group[1].name!r}{where}"
