"""The batched tape: trace a function of one example once, replay it over a batch with numpy.

    def hinge(x, y):                              # one example, written with Values as usual
        return (1 + -y * model(x)).relu()

    tape = trace(hinge, model.parameters(), example_inputs=(X[0], y[0]))
    model.zero_grad()
    loss = tape.backward(X, y)                    # mean over the batch; gradients in p.grad

Tracing calls `fn` on Values made from the example and compiles its graph into a program
(`tape_compile`: a row of values per node, same-op nodes of a level in one numpy call);
`tape_replay` runs the program over a batch, forward then backward, with the very
derivatives the eager engine uses; `tape_batch` turns arguments into arrays and back.
This module traces `fn`, keeps the programs and checks them against the eager engine.

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

from . import tape_replay
from .grad_mode import enable_grad
from .tape_batch import (
    Examples,
    as_array,
    as_batch,
    as_outputs,
    as_static,
    hashable,
    unique_params,
    values_like,
)
from .tape_compile import Program, difference
from .value import Value

_CHECK_SAMPLE = 8  # examples the first replay of a program compares with the eager engine


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
        self._static = as_static(static, example_inputs)
        self._example = tuple(
            hashable(a) if k in self._static else as_array(a, k)
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
            self.params = unique_params(self._fetch_params())
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
            next(key) if k in self._static else values_like(next(dynamic), values)
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
        outputs, shapes = as_outputs(result, self.has_aux)
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
        program = Program(outputs, shapes, self._roles(inputs), name)
        outputs, shapes, inputs = call()
        again = Program(outputs, shapes, self._roles(inputs), name)
        if program.signature != again.signature:
            raise TraceError(
                f"{name} built different graphs on two calls with the same example: "
                f"{difference(program, again)}. It draws random numbers or keeps state "
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
        loss = float(outputs[0].sum()) * _weight(reduction, outputs.shape[1])
        if self._penalty is not None:
            value, extra = self._run_penalty(pdata, 1.0)
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
        examples = as_batch(batch, self._example, self._static)
        current = self._fetch_params()
        if len(current) != len(self.params) or not all(map(operator.is_, current, self.params)):
            if set(current) != set(self.params):  # a new model or new layers: trace again
                self.retrace()
        pdata = self._param_data()
        size = examples.size
        weight = _weight(reduction, size)
        outputs, grads = None, np.zeros(len(self.params))
        for part in examples.parts():
            program = self._program_for(part.key, part.example())
            if self.check and part.key not in self._checked:
                self._check_against_eager(program, part, pdata)
            values, part_grads = tape_replay.run(program, part, pdata, weight, self._redo_eagerly)
            if outputs is None:
                outputs = np.empty((len(values), size))
            outputs[:, part.index] = values
            if weight is not None:
                grads += part_grads
        return outputs, grads, pdata

    def _run_penalty(self, pdata, weight):
        return tape_replay.run(self._penalty, Examples.single(), pdata, weight, self._redo_eagerly)

    def _param_data(self):
        return np.fromiter((p.data for p in self.params), float, len(self.params))

    def _check_against_eager(self, program, part, pdata):
        sample = part.sample(_CHECK_SAMPLE)
        scalar = program.shapes[0] == ()  # gradients only of a loss
        values, per_example = tape_replay.run(
            program, sample, pdata, None, self._redo_eagerly, per_example=scalar
        )
        for k in range(sample.size):
            j = sample.index[k]
            outputs, shapes, inputs = self._call(sample.example(k), part.key)
            eager = Program(outputs, shapes, self._roles(inputs), "fn")
            eager_values = [v.data for v in outputs]
            same = _close(values[:, k], eager_values) and (
                not scalar or _close(per_example[:, k], _eager_gradients(outputs[0], self.params))
            )
            # Constants may differ where they cancel (a log-sum-exp's shift), the numbers not.
            if eager.structure != program.structure or not same:
                raise TraceError(
                    f"the trace does not hold for example {j} of the batch: "
                    f"{difference(program, eager)}. fn's Python control flow ran once, on "
                    "the traced example, and is frozen (an `if` on a value, float(v), v.data, "
                    "a comparison); write the branch with ops (relu, abs, ...), pass such "
                    "arguments in static, or train with the eager engine"
                )
        if self._penalty is not None and not self._checked:
            value, _ = self._run_penalty(pdata, None)
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



def _weight(reduction, size):
    """Each example's weight in the loss: 1/size for "mean", 1 for "sum", None for no loss."""
    if reduction is None:
        return None
    return 1.0 / size if reduction == "mean" else 1.0


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

