"""Replaying a tape's program over a batch with numpy: forward, guards, then backward.

The forward pass computes the groups in level order, each op by its `array_forward` and
each layer of neurons by one matrix product. Then the program's guards (the decisions fn
took when traced, see `tape_guard`) are evaluated for every example: the examples that
decided otherwise are handed back, to be replayed by another program. The backward pass
pulls: a node's gradient is the sum, over the edges that leave it, of (the consumer's
gradient x the edge's local derivative), with the very `derivatives` the eager engine uses,
evaluated with `ops.ARRAY_MATH`. Consumers sit on higher levels, so the gradients are
complete level by level, from the top: one gather, one multiply and one sum per level and
fan-out, and ``W.T @ dZ`` for a layer.

Where the tape meets a non-finite number the example goes through the eager engine
(`eager`, given by the Tape), which raises its own clear error or gives finite gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias, cast, overload

import numpy as np

from . import ops
from .tape_compile import MatmulGroup, Pull
from .tape_guard import route

if TYPE_CHECKING:
    from .tape_batch import Examples
    from .tape_compile import Program, StridedView

Eager: TypeAlias = "Callable[..., np.ndarray | None]"
"""`Tape._redo_eagerly`: ``eager(name, examples, k, weight=None)``."""

Saved: TypeAlias = "list[np.ndarray | tuple[np.ndarray, np.ndarray | None] | None]"
"""What forward keeps per group for backward: a layer's X, an op's (x, y), None for a sum."""

Scratch: TypeAlias = "tuple[np.ndarray | None, np.ndarray, np.ndarray]"
"""A pull's space: gathered consumers' gradients (None for a slice), products, sums."""

_ARRAY = ops.ARRAY_MATH
BUFFER_BYTES = 32 * 2**20  # a large batch is replayed in column chunks of about this size


@dataclass
class Replay:
    """What a replay gives: a column of outputs per example that follows the program,
    the gradients (x weight) summed over those, and which examples the program does not
    suit: `left` took another path, `to_eager` came too close to a decision's threshold."""

    outputs: np.ndarray
    grads: np.ndarray
    left: np.ndarray
    to_eager: np.ndarray


def run(
    program: Program, examples: Examples, pdata: np.ndarray, weight: float | None,
    eager: Eager,
) -> Replay:
    """Replay `program` over `examples` with parameter values `pdata`.

    Without a `weight` there is no backward pass; with one, the examples' gradients, each
    times `weight`, are summed. `eager(name, examples, k, weight=None)` redoes example k
    with the eager engine where the tape meets a non-finite number (`Tape._redo_eagerly`).
    """
    size = examples.size
    replay = Replay(np.full((len(program.outputs), size), np.nan), np.zeros(len(pdata)),
                    np.zeros(size, dtype=bool), np.zeros(size, dtype=bool))
    weights = [m.weights(pdata) for m in _all_matmuls(program)]
    chunk = max(1, BUFFER_BYTES // (8 * (2 * program.n_slots + program.n_edges)))
    for lo in range(0, size, chunk):
        columns = np.arange(lo, min(size, lo + chunk))
        _run_columns(program, examples, columns, pdata, weights, weight, eager, replay)
    return replay


def _all_matmuls(program: Program) -> list[MatmulGroup]:
    return [g for g in program.groups if isinstance(g, MatmulGroup)]


def _run_columns(
    program: Program, examples: Examples, columns: np.ndarray, pdata: np.ndarray,
    weights: list[np.ndarray], weight: float | None, eager: Eager, replay: Replay,
    decided: bool = False,
) -> None:
    """Replay some columns of the batch into `replay`; with `decided`, they all follow."""
    part = examples.take(columns)
    buffers = _buffers(program, part.size)
    values = buffers.values
    values[: program.n_params] = pdata[program.param_ids, None]
    values[program.n_params : program.n_params + program.n_inputs] = part.columns[
        program.input_ids
    ]
    for guards, before_forward in ((program.leaf_guards, True), (program.guards, False)):
        if not before_forward:
            saved = _forward(program, buffers, pdata, weights)
        if guards and not decided:
            follows, to_eager = route(guards, values, part.size)
            if not follows.all():
                replay.left[columns[~follows & ~to_eager]] = True
                replay.to_eager[columns[to_eager]] = True
                if follows.any():
                    _run_columns(program, examples, columns[follows], pdata, weights, weight,
                                 eager, replay, decided=not before_forward)
                return
    # not the leaves: as_batch checked the inputs, and a bad parameter shows in what it computes
    if not np.isfinite(values[program.n_leaves :]).all():
        _explain_forward_error(program, values, part, eager)
    replay.outputs[:, columns] = values[program.outputs]
    if weight is not None:
        _backward(program, buffers, saved, weights, weight)
        replay.grads += _parameter_sums(program, buffers, saved, pdata, part, weight, eager)


def _buffers(program: Program, width: int) -> _Buffers:
    cache = program.buffers
    if width not in cache:
        if len(cache) > 3:
            cache.clear()
        cache[width] = _Buffers(program, width)
    return cache[width]


def _forward(
    program: Program, buffers: _Buffers, pdata: np.ndarray, weights: list[np.ndarray],
) -> Saved:
    """Every group in level order; returns what the derivatives need, per group."""
    values, width = buffers.values, buffers.width
    saved: Saved = []
    layer = iter(weights)
    with np.errstate(all="ignore"):  # non-finite values are looked for afterwards
        for group, into in zip(program.groups, buffers.operands):
            x = _gather(values, group.operands[0] if not isinstance(group, MatmulGroup)
                        else group.inputs, into[0])
            if isinstance(group, MatmulGroup):
                out = values[group.rows]
                np.matmul(next(layer), x, out=out)
                if group.bias_ids is not None:
                    out += group.bias(pdata)[:, None]
                saved.append(x)
            elif group.op is None:
                x.reshape(-1, group.terms, width).sum(axis=1, out=values[group.rows])
                saved.append(None)
            else:
                y = _gather(values, group.operands[1], into[1]) if group.op.arity == 2 else None
                params = (y,) if y is not None else (group.param,) * (group.param is not None)
                forward = group.op.array_forward
                assert forward is not None  # Op.__post_init__ falls back to op.forward
                values[group.rows] = forward(x, *params)
                saved.append((x, y))
    return saved


def _explain_forward_error(
    program: Program, values: np.ndarray, part: Examples, eager: Eager,
) -> None:
    """A non-finite value in the forward pass: the eager engine raises its error for the
    first example concerned, or (a constant that does not suit it) we say so."""
    computed = values[program.n_leaves :]
    k = int(np.flatnonzero(~np.isfinite(computed).all(axis=0))[0])
    eager(program.name, part, k)  # raises the eager engine's own error
    rows = program.n_leaves + np.flatnonzero(~np.isfinite(computed[:, k]))
    group = next(g for g in program.groups if g.rows.start <= rows[0] < g.rows.stop)
    op = "a layer's matrix product" if isinstance(group, MatmulGroup) else repr(
        (group.op or ops.ADD).name)
    raise FloatingPointError(
        f"tape replay of {program.name}: {op} gives a non-finite value for example "
        f"{part.index[k]} of the batch, where the eager engine does not: a constant fn "
        "computed from the traced example's numbers does not suit this example; "
        "use the eager engine"
    )


def _backward(
    program: Program, buffers: _Buffers, saved: Saved, weights: list[np.ndarray], weight: float,
) -> None:
    """Gradients of every slot (x weight) into buffers.gradients, from the top level down."""
    values, grads, width = buffers.values, buffers.gradients, buffers.width
    derivatives = buffers.derivatives
    _local_derivatives(program, values, derivatives, saved)
    grads[program.outputs[0]] = weight
    grads[program.matmul_only_rows] = 0.0
    layer_weights = dict(zip(map(id, _all_matmuls(program)), weights))
    with np.errstate(all="ignore"):  # non-finite gradients are dealt with afterwards
        for step, scratch in zip(program.backward_steps, buffers.steps):
            if isinstance(step, Pull):
                assert scratch is not None  # made for every pull
                _pull(step, scratch, grads, derivatives, width)
            elif step.level > 0 or not _all_leaves(program, step):
                grads[step.inputs] += layer_weights[id(step)].T @ grads[step.rows]


def _all_leaves(program: Program, matmul: MatmulGroup) -> bool:
    rows = matmul.inputs
    last: int = rows.stop - 1 if isinstance(rows, slice) else int(rows.max())
    return last < program.n_leaves


def _pull(
    pull: Pull, scratch: Scratch, grads: np.ndarray, derivatives: np.ndarray, width: int,
) -> None:
    gathered, product, into = scratch
    np.multiply(_gather(grads, pull.consumers, gathered), derivatives[pull.edges], out=product)
    if pull.fan_out > 1:
        product.reshape(-1, pull.fan_out, width).sum(axis=1, out=into)
    if isinstance(pull.targets, np.ndarray):
        grads[pull.targets] = into


def _local_derivatives(
    program: Program, values: np.ndarray, derivatives: np.ndarray, saved: Saved,
) -> None:
    with np.errstate(all="ignore"):  # a non-finite derivative is dealt with after backward
        for group, xy in zip(program.groups, saved):
            if isinstance(group, MatmulGroup) or xy is None:
                continue  # sums: every derivative is 1, set when the buffers were made
            assert isinstance(xy, tuple) and group.op is not None  # an op's group: (x, y)
            x, y = xy
            local = group.op.local_derivatives(_ARRAY, x, y, values[group.rows], group.param)
            for d, rows in zip(local, group.edges):
                derivatives[rows] = d


def _parameter_sums(
    program: Program, buffers: _Buffers, saved: Saved, pdata: np.ndarray, part: Examples,
    weight: float, eager: Eager, skip: np.ndarray | None = None,
) -> np.ndarray:
    """Each parameter's gradient summed over the examples (minus `skip`ped columns)."""
    grads = buffers.gradients
    if buffers.sums is None:
        buffers.sums = np.zeros(len(pdata))
    sums = buffers.sums  # reused, so that the layers' views into it are made once
    sums.fill(0.0)
    scalar = grads[: program.n_params]
    with np.errstate(all="ignore"):
        sums[program.param_ids] += (scalar if skip is None else scalar[:, ~skip]).sum(axis=1)
        for group, x in zip(program.groups, saved):
            if not (isinstance(group, MatmulGroup) and group.in_loss):
                continue
            assert isinstance(x, np.ndarray)  # a layer's X
            dz = grads[group.rows]
            if skip is not None:
                dz, x = dz[:, ~skip], x[:, ~skip]
            _add_to(sums, group, group.weight_ids, group.weight_view, dz @ x.T)
            if group.bias_ids is not None:
                _add_to(sums, group, group.bias_ids, group.bias_view, dz.sum(axis=1))
    if skip is None and not (np.isfinite(sums).all()
                             and np.isfinite(grads[program.n_params : program.n_leaves]).all()):
        return _redo_non_finite(program, buffers, saved, pdata, part, weight, eager)
    return sums


def _add_to(
    sums: np.ndarray, group: MatmulGroup, ids: np.ndarray, view: StridedView | None,
    values: np.ndarray,
) -> None:
    """sums[ids] += values, through a strided view where the ids allow one."""
    if view is None:
        sums += np.bincount(ids.ravel(), values.ravel(), len(sums))
    else:
        target = group.weights(sums) if ids is group.weight_ids else group.bias(sums)
        target += values


def _redo_non_finite(
    program: Program, buffers: _Buffers, saved: Saved, pdata: np.ndarray, part: Examples,
    weight: float, eager: Eager,
) -> np.ndarray:
    """Gradient sums when some examples' gradients are not finite.

    The eager engine skips a node whose gradient is 0, so an infinite local derivative
    there is harmless to it but gives 0 x inf = nan here. Those examples go through the
    eager engine, which either raises its error or gives their finite gradients.
    """
    grads = buffers.gradients
    bad = cast(np.ndarray, ~np.isfinite(grads[: program.n_leaves]).all(axis=0))
    for group in program.matmuls:
        bad |= ~np.isfinite(grads[group.rows]).all(axis=0)
    sums: np.ndarray = _parameter_sums(
        program, buffers, saved, pdata, part, weight, eager, skip=bad).copy()
    for k in np.flatnonzero(bad):
        sums += eager(program.name, part, k, weight)
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

    def __init__(self, program: Program, width: int) -> None:
        p = program
        self.width = width
        self.sums: np.ndarray | None = None  # gradients summed over examples (_parameter_sums)
        self.values = np.empty((p.n_slots, width))
        self.values[p.n_params + p.n_inputs : p.n_leaves] = p.const_values[:, None]
        self.gradients = np.zeros_like(self.values)  # outside the loss's graph they stay 0
        self.derivatives = np.empty((p.n_edges, width))
        self.derivatives[p.ones] = 1.0
        self.operands = [
            [_scratch(g.inputs, width)] if isinstance(g, MatmulGroup)
            else [_scratch(rows, width) for rows in g.operands]
            for g in p.groups
        ]
        # Per pull: space for the consumers' gradients, for the products with the local
        # derivatives and for their sums per operand; results go straight into the
        # gradients' rows when these are a slice.
        self.steps: list[Scratch | None] = []
        for step in p.backward_steps:
            if not isinstance(step, Pull):
                self.steps.append(None)
                continue
            into = (self.gradients[step.targets] if isinstance(step.targets, slice)
                    else _scratch(step.targets, width))
            product = (np.empty((step.edges.stop - step.edges.start, width))
                       if step.fan_out > 1 else into)
            self.steps.append((_scratch(step.consumers, width), product, into))


@overload
def _scratch(rows: slice, width: int) -> None: ...
@overload
def _scratch(rows: np.ndarray, width: int) -> np.ndarray: ...
@overload
def _scratch(rows: slice | np.ndarray, width: int) -> np.ndarray | None: ...
def _scratch(rows: slice | np.ndarray, width: int) -> np.ndarray | None:
    """Space for gathering `rows` (None when they are a slice: a view needs none)."""
    return None if isinstance(rows, slice) else np.empty((len(rows), width))


def _gather(array: np.ndarray, rows: slice | np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """array[rows], into `out` when rows is an index array ('clip': no hidden buffer)."""
    if isinstance(rows, slice):
        return array[rows]
    return np.take(array, rows, axis=0, out=out, mode="clip")
