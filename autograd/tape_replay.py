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
from typing import TYPE_CHECKING, TypeAlias, cast

import numpy as np

from . import ops
from .tape_compile import Group, MatmulGroup, Pull
from .tape_guard import route

if TYPE_CHECKING:
    from .tape_batch import Examples
    from .tape_compile import Program

Eager: TypeAlias = "Callable[..., np.ndarray | None]"
"""`Tape._redo_eagerly`: ``eager(name, examples, k, weight=None)``."""

Saved: TypeAlias = "list[np.ndarray | tuple[np.ndarray, np.ndarray | None] | None]"
"""What forward keeps per group for backward: a layer's X, an op's (x, y), None for a sum."""

Scratch: TypeAlias = "tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]"
"""A pull's arrays: the consumers' gradients (`_space`), its local derivatives, space for
the products and for their sums."""

Layer: TypeAlias = "tuple[np.ndarray, np.ndarray | None]"
"""A layer's W and its b as a column (None without a bias), read from the parameters."""

Routes: TypeAlias = "tuple[np.ndarray, np.ndarray, bool]"
"""Which examples follow a program's guards, which go to the eager engine, and whether
the forward pass ran (the guards that failed are the ones on its values)."""

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
    chunk = _columns(program)
    for lo in range(0, size, chunk):
        columns = np.arange(lo, min(size, lo + chunk))
        _run_columns(program, examples, columns, pdata, weight, eager, replay)
    return replay


def _run_columns(
    program: Program, examples: Examples, columns: np.ndarray, pdata: np.ndarray,
    weight: float | None, eager: Eager, replay: Replay, decided: bool = False,
) -> None:
    """Replay some columns of the batch into `replay`; with `decided`, they all follow."""
    part = examples if len(columns) == examples.size else examples.take(columns)
    buffers = _buffers(program, part.size)
    values = buffers.values
    layers = buffers.layers(program, pdata)
    sums = None
    with np.errstate(all="ignore"):  # non-finite numbers are looked for afterwards
        saved, routes = _forward_routed(program, buffers, part, pdata, layers, decided)
        # not the leaves: as_batch checked the inputs, a bad parameter shows in what it computes
        finite = routes is None and bool(np.isfinite(values[program.n_leaves :]).all())
        if finite and weight is not None:
            _backward(program, buffers, saved, layers, weight)
            sums = _parameter_sums(program, buffers, saved, len(pdata))
    if routes is not None:  # some examples decided otherwise: the others again
        follows, to_eager, after_forward = routes
        replay.left[columns[~follows & ~to_eager]] = True
        replay.to_eager[columns[to_eager]] = True
        if follows.any():
            _run_columns(program, examples, columns[follows], pdata, weight, eager, replay,
                         decided=after_forward)
        return
    if not finite:
        _explain_forward_error(program, values, part, eager)
    replay.outputs[:, columns] = values[program.outputs]
    if sums is not None:
        assert weight is not None  # sums are made for a backward pass only
        if not (np.isfinite(sums).all()
                and np.isfinite(buffers.gradients[program.n_params : program.n_leaves]).all()):
            sums = _redo_non_finite(program, buffers, saved, pdata, part, weight, eager)
        replay.grads += sums


def _forward_routed(
    program: Program, buffers: _Buffers, part: Examples, pdata: np.ndarray,
    layers: list[Layer], decided: bool,
) -> tuple[Saved, Routes | None]:
    """The leaves, the guards on them, forward and the other guards. When some examples
    do not follow: their `Routes`, and whether forward ran (the others passed its guards)."""
    values = buffers.values
    if program.n_params:
        values[: program.n_params] = pdata[program.param_ids, None]
    values[program.n_params : program.n_params + program.n_inputs] = part.columns[
        program.input_ids
    ]
    saved: Saved = []
    for guards, after_forward in ((program.leaf_guards, False), (program.guards, True)):
        if after_forward:
            saved = _forward(program, buffers, layers)
        if guards and not decided:
            follows, to_eager = route(guards, values, part.size)
            if not follows.all():
                return saved, (follows, to_eager, after_forward)
    return saved, None


def _columns(program: Program) -> int:
    """How many examples' columns fit in BUFFER_BYTES."""
    return max(1, BUFFER_BYTES // (8 * (2 * program.n_slots + program.n_edges)))


def _buffers(program: Program, width: int) -> _Buffers:
    """The program's buffers for `width` examples. Those of other widths are kept while
    all of them hold no more columns than one chunk: guards split each mini-batch of a
    loop in parts of many sizes, and making buffers costs more than replaying a few
    examples."""
    cache = program.buffers
    if width not in cache:
        if sum(cache) + width > _columns(program):
            cache.clear()
        cache[width] = _Buffers(program, width)
    return cache[width]


def _forward(program: Program, buffers: _Buffers, layers: list[Layer]) -> Saved:
    """Every group in level order; returns what the derivatives need, per group."""
    values, width = buffers.values, buffers.width
    saved: Saved = []
    for group, into, out in zip(program.groups, buffers.operands, buffers.outs):
        if isinstance(group, MatmulGroup):
            x = _gather(values, group.inputs, into[0])
            w, b = layers[group.index]
            np.matmul(w, x, out=out)
            if b is not None:
                out += b
            saved.append(x)
            continue
        x = _gather(values, group.operands[0], into[0])
        if group.op is None:
            x.reshape(-1, group.terms, width).sum(axis=1, out=out)
            saved.append(None)
        else:
            y = _gather(values, group.operands[1], into[1]) if group.op.arity == 2 else None
            params = (y,) if y is not None else (group.param,) * (group.param is not None)
            forward = group.op.array_forward
            assert forward is not None  # Op.__post_init__ falls back to op.forward
            out[...] = forward(x, *params)
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
    program: Program, buffers: _Buffers, saved: Saved, layers: list[Layer], weight: float,
) -> None:
    """Gradients of every slot (x weight) into buffers.gradients, from the top level down."""
    grads, width, derivatives = buffers.gradients, buffers.width, buffers.derivatives
    _local_derivatives(program, buffers.values, derivatives, saved)
    grads[program.outputs[0]] = weight
    grads[program.matmul_only_rows] = 0.0
    for step, scratch in zip(program.backward_steps, buffers.steps):
        if isinstance(step, Pull):
            assert scratch is not None  # made for every pull
            _pull(step, scratch, grads, width)
        else:
            grads[step.inputs] += layers[step.index][0].T @ grads[step.rows]


def _pull(pull: Pull, scratch: Scratch, grads: np.ndarray, width: int) -> None:
    consumers, local, product, into = scratch
    np.multiply(_gather(grads, pull.consumers, consumers), local, out=product)
    if pull.fan_out > 1:
        product.reshape(-1, pull.fan_out, width).sum(axis=1, out=into)
    if isinstance(pull.targets, np.ndarray):
        grads[pull.targets] = into


def _local_derivatives(
    program: Program, values: np.ndarray, derivatives: np.ndarray, saved: Saved,
) -> None:
    for group, xy in zip(program.groups, saved):
        if isinstance(group, MatmulGroup) or xy is None:
            continue  # sums: every derivative is 1, set when the buffers were made
        assert isinstance(xy, tuple) and group.op is not None  # an op's group: (x, y)
        if group.op.constants is not None:
            continue  # set when the buffers were made, as a sum's 1s
        x, y = xy
        if group.op.is_product:  # '*': d/dx = y and d/dy = x, no rule to call
            local: tuple[np.ndarray | None, ...] = (y, x)
        else:
            local = group.op.local_derivatives(_ARRAY, x, y, values[group.rows], group.param)
        for d, rows in zip(local, group.edges):
            derivatives[rows] = d


def _parameter_sums(
    program: Program, buffers: _Buffers, saved: Saved, n: int, skip: np.ndarray | None = None,
) -> np.ndarray:
    """Each of the `n` parameters' gradient summed over the examples (minus `skip`ped
    columns), into an array of the buffers' that the next call overwrites."""
    grads = buffers.gradients
    if buffers.sums is None:
        buffers.sums = np.zeros(n)
        buffers.layer_sums = [
            (None if m.weight_view is None else m.weights(buffers.sums),
             None if m.bias_view is None else m.bias(buffers.sums))
            for m in program.layers
        ]
    sums = buffers.sums
    sums.fill(0.0)
    if program.n_params:
        scalar = grads[: program.n_params]
        sums[program.param_ids] += (scalar if skip is None else scalar[:, ~skip]).sum(axis=1)
    for group, x in zip(program.groups, saved):
        if not (isinstance(group, MatmulGroup) and group.in_loss):
            continue
        assert isinstance(x, np.ndarray)  # a layer's X
        dz = grads[group.rows]
        if skip is not None:
            dz, x = dz[:, ~skip], x[:, ~skip]
        w, b = buffers.layer_sums[group.index]
        _add_to(sums, group.weight_ids, w, dz @ x.T)
        if group.bias_ids is not None:
            _add_to(sums, group.bias_ids, b, dz.sum(axis=1))
    return sums


def _add_to(
    sums: np.ndarray, ids: np.ndarray, view: np.ndarray | None, values: np.ndarray,
) -> None:
    """sums[ids] += values, through `view` (of sums at the ids) where the ids allow one."""
    if view is None:
        sums += np.bincount(ids.ravel(), values.ravel(), len(sums))
    else:
        view += values


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
    with np.errstate(all="ignore"):
        sums: np.ndarray = _parameter_sums(program, buffers, saved, len(pdata), skip=bad).copy()
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
    more in page faults than the arithmetic it holds. The views of their rows that a
    replay reads are made here too, once: for one example, making them again on every
    call would cost a good part of the replay.
    """

    def __init__(self, program: Program, width: int) -> None:
        p = program
        self.width = width
        self.sums: np.ndarray | None = None  # gradients summed over examples (_parameter_sums)
        self._layers: tuple[np.ndarray, list[Layer]] | None = None  # (pdata, its layers)
        self._views = all(m.weight_view is not None
                          and (m.bias_ids is None or m.bias_view is not None) for m in p.layers)
        # the layers' W and b as views of sums (None where their ids allow no view)
        self.layer_sums: list[tuple[np.ndarray | None, np.ndarray | None]] = []
        self.values = np.empty((p.n_slots, width))
        self.values[p.n_params + p.n_inputs : p.n_leaves] = p.const_values[:, None]
        self.gradients = np.zeros_like(self.values)  # outside the loss's graph they stay 0
        self.derivatives = np.empty((p.n_edges, width))
        self.derivatives[p.ones] = 1.0
        for g in p.groups:  # the ops whose derivatives are numbers (-1 for neg): set here
            if isinstance(g, Group) and g.op is not None and g.op.constants is not None:
                for c, rows in zip(g.op.constants, g.edges):
                    self.derivatives[rows] = c
        self.operands = [
            [_space(self.values, g.inputs)] if isinstance(g, MatmulGroup)
            else [_space(self.values, rows) for rows in g.operands]
            for g in p.groups
        ]
        self.outs = [self.values[g.rows] for g in p.groups]
        # Per pull: the consumers' gradients, its local derivatives, space for the products
        # and for their sums per operand; results go straight into the gradients' rows when
        # these are a slice.
        self.steps: list[Scratch | None] = []
        for step in p.backward_steps:
            if not isinstance(step, Pull):
                self.steps.append(None)
                continue
            into = _space(self.gradients, step.targets)
            product = (np.empty((step.edges.stop - step.edges.start, width))
                       if step.fan_out > 1 else into)
            self.steps.append((_space(self.gradients, step.consumers),
                               self.derivatives[step.edges], product, into))

    def layers(self, program: Program, pdata: np.ndarray) -> list[Layer]:
        """Each layer's W and b (a column) read from `pdata`: as views, made once for the
        array the tape reuses, where the layers' ids allow them; else copies, every call."""
        if self._layers is not None and self._layers[0] is pdata:
            return self._layers[1]
        layers = [
            (m.weights(pdata), None if m.bias_ids is None else m.bias(pdata)[:, None])
            for m in program.layers
        ]
        if self._views:
            self._layers = (pdata, layers)
        return layers


def _space(array: np.ndarray, rows: slice | np.ndarray) -> np.ndarray:
    """Where `_gather` finds array[rows]: their view when they are a slice, else space
    to gather them into."""
    if isinstance(rows, slice):
        return array[rows]
    return np.empty((len(rows), array.shape[1]))


def _gather(array: np.ndarray, rows: slice | np.ndarray, space: np.ndarray) -> np.ndarray:
    """array[rows], in their `_space` ('clip': np.take makes no hidden buffer)."""
    if isinstance(rows, slice):
        return space  # a view of the rows, made with the buffers
    return np.take(array, rows, axis=0, out=space, mode="clip")
