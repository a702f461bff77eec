"""Replaying a tape's program over a batch with numpy: forward, then backward by pulls.

The forward pass computes the groups in level order, each op by its `array_forward`; the
local derivatives come from the very `derivatives` the eager engine uses, evaluated with
`ops.ARRAY_MATH`. The backward pass pulls: a node's gradient is the sum, over the edges
that leave it, of (the consumer's gradient x the edge's local derivative). Consumers sit
on higher levels, so the gradients are complete level by level, from the top: one gather,
one multiply and one sum per level and fan-out.

Where the tape meets a non-finite number the example goes through the eager engine
(`eager`, given by the Tape), which raises its own clear error or gives finite gradients.
"""

from __future__ import annotations

import numpy as np

from . import ops

_ARRAY = ops.ARRAY_MATH
BUFFER_BYTES = 32 * 2**20  # a large batch is replayed in column chunks of about this size


def run(program, examples, pdata, weight, eager, per_example=False):
    """Replay over some examples: (outputs, gradients over the tape's parameters).

    Without a `weight` (and not `per_example`) there is no backward pass. With one, the
    examples' gradients, each times `weight`, are summed; `per_example` keeps a column
    per example instead. `eager(name, examples, k, weight=None)` redoes example k with the
    eager engine where the tape meets a non-finite number (see `Tape._redo_eagerly`).
    """
    size = examples.size
    chunk = max(1, BUFFER_BYTES // (8 * (2 * program.n_slots + program.n_edges)))
    outputs = np.empty((len(program.outputs), size))
    grads = np.zeros((len(pdata), size) if per_example else len(pdata))
    backward = weight is not None or per_example
    for lo in range(0, size, chunk):
        cols = slice(lo, min(size, lo + chunk))
        width = cols.stop - lo
        buffers = _buffers(program, width)
        V, G, D = buffers.V, buffers.G, buffers.D
        V[: program.n_params] = pdata[program.param_ids, None]
        inputs = slice(program.n_params, program.n_params + program.n_inputs)
        V[inputs] = examples.columns[program.input_ids, cols]
        saved = _forward(program, buffers, examples, lo, eager)
        outputs[:, cols] = V[program.outputs]
        if not backward:
            continue
        _derivatives(program, V, D, saved)
        G[program.outputs[0]] = 1.0 if per_example else weight
        with np.errstate(all="ignore"):  # non-finite gradients are dealt with below
            for (targets, consumers, edges, c), (gathered, product, into) in zip(
                program.pulls, buffers.pulls
            ):
                np.multiply(_gather(G, consumers, gathered), D[edges], out=product)
                if c > 1:
                    product.reshape(-1, c, width).sum(axis=1, out=into)
                if isinstance(targets, np.ndarray):
                    G[targets] = into
        if per_example:
            grads[program.param_ids, cols] = G[: program.n_params]
            for k in np.flatnonzero(~np.isfinite(G[: program.n_leaves]).all(axis=0)):
                grads[:, lo + k] = eager(program.name, examples, lo + k, 1.0)
            continue
        sums = G[: program.n_params].sum(axis=1)
        others = G[program.n_params : program.n_leaves]
        if not (np.isfinite(sums).all() and np.isfinite(others).all()):
            sums = _redo_non_finite(program, G, examples, lo, weight, eager)
        grads[program.param_ids] += sums
    return outputs, grads


def _buffers(program, width):
    cache = program.buffers
    if width not in cache:
        if len(cache) > 3:
            cache.clear()
        cache[width] = _Buffers(program, width)
    return cache[width]


def _forward(program, buffers, examples, lo, eager):
    V, width, saved = buffers.V, buffers.width, []
    with np.errstate(all="raise", under="ignore"):
        try:
            for g, into in zip(program.groups, buffers.operands):
                x = _gather(V, g.operands[0], into[0])
                if g.op is None:
                    x.reshape(-1, g.terms, width).sum(axis=1, out=V[g.rows])
                    saved.append(None)
                    continue
                y = _gather(V, g.operands[1], into[1]) if g.op.arity == 2 else None
                params = (y,) if y is not None else (g.param,) if g.param is not None else ()
                V[g.rows] = g.op.array_forward(x, *params)
                saved.append((x, y))
        except FloatingPointError as error:
            _explain_forward_error(program, g, V, width, examples, lo, eager, error)
    return saved


def _explain_forward_error(program, group, V, width, examples, lo, eager, error):
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
    eager(program.name, examples, k)  # raises the eager engine's own error
    raise FloatingPointError(
        f"tape replay of {program.name}: {op.name!r} gives a non-finite value for example "
        f"{examples.index[k]} of the batch ({error}), where the eager engine does not: "
        "a constant fn computed from the traced example's numbers (a log-sum-exp's shift?) "
        "does not suit this example; use the eager engine"
    ) from error


def _derivatives(program, V, D, saved):
    with np.errstate(all="ignore"):  # a non-finite derivative is dealt with after backward
        for g, xy in zip(program.groups, saved):
            if xy is None:
                continue  # a sum: every derivative is 1, set when the buffers were made
            x, y = xy
            derivatives = g.op.local_derivatives(_ARRAY, x, y, V[g.rows], g.param)
            for d, rows in zip(derivatives, g.edges):
                D[rows] = d


def _redo_non_finite(program, G, examples, lo, weight, eager):
    """Gradient sums when some examples' gradients are not finite.

    The eager engine skips a node whose gradient is 0, so an infinite local derivative
    there is harmless to it but gives 0 x inf = nan here. Those examples go through the
    eager engine, which either raises its error or gives their finite gradients.
    """
    bad = ~np.isfinite(G[: program.n_leaves]).all(axis=0)
    sums = np.where(bad, 0.0, G[: program.n_params]).sum(axis=1)
    for k in np.flatnonzero(bad):
        sums += eager(program.name, examples, lo + k, weight)[program.param_ids]
    if not np.isfinite(sums).all():
        raise OverflowError(
            f"tape replay of {program.name}: the parameters' gradients summed over the batch "
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

