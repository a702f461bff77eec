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

Python control flow in `fn` runs at trace time, but the tape knows every decision it took on
the numbers (`if x.data > 0:`, `max`, comparisons of Values, `abs(d.data) <= delta`): each
is a guard (`tape_guard`) checked for every example at replay. An example that decides
otherwise goes to the program traced for its own path (traced on first sight, kept), and
one too close to a decision's threshold to tell, to the eager engine. What the tape cannot
follow (``float(v)``, ``math.log(v.data)``) raises `TraceError` at trace time, naming the
line. So the tape never returns other numbers than the eager engine (to 1e-9: layers run
as matrix products, which round differently). Arguments listed in `static` (class indices,
say) reach `fn` as plain numbers instead: one program per distinct value, as `jax.jit`'s
static arguments.

Parameters kept in a numpy vector (an optimizer loop of your own, ``scipy.optimize``) skip
the Values altogether, as ``jax.value_and_grad`` does: `Tape.value_and_grad` takes the
parameters' numbers as an array and returns the loss and the gradients as one, reading no
``p.data`` and writing no ``p.grad`` (17,000 of each for a 2-128-128-1 MLP):

    theta = tape.parameter_vector()               # the numbers of tape.params, in order
    for step in range(100):
        loss, g = tape.value_and_grad(X, y, params=theta)
        theta -= 0.1 * g
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeAlias, overload

import numpy as np

from . import tape_replay
from .grad_mode import enable_grad
from .tape_batch import (
    Examples,
    Shapes,
    as_array,
    as_batch,
    as_outputs,
    as_static,
    hashable,
    unique_params,
    values_like,
)
from .tape_compile import LeafRole, Program, difference
from .tape_guard import Guard, TraceError, recording, traced_value
from .value import Value

Params: TypeAlias = "Iterable[Value] | Callable[[], Iterable[Value]] | Any"
"""A list of Values, a function returning one (``model.parameters``) or an object with a
``parameters()`` method."""
Traced: TypeAlias = "tuple[list[Value], Shapes, dict[Value, int], list[Guard]]"
"""One traced call: its outputs, their shapes, the input leaves' positions, its guards."""

__all__ = ["trace", "Tape", "TraceError"]

_CHECK_SAMPLE = 8  # examples the first replay of a program compares with the eager engine
MAX_PROGRAMS = 64  # paths traced per static value; examples on further paths run eagerly


def trace(
    fn: Callable[..., Any], params: Params, example_inputs: tuple[Any, ...], *,
    penalty: Callable[[], Value] | None = None, has_aux: bool = False,
    static: int | Iterable[int] = (), check: bool = True,
) -> Tape:
    """Trace ``fn(*example_inputs)``, the loss of one example, into a `Tape`.

    `params` are the Values the tape reads live and puts gradients into: a list, a callable
    returning one (``model.parameters``) or an object with a ``parameters()`` method. When
    that list changes (a new model, more layers) the tape traces `fn` again by itself.
    `penalty`, a function of no arguments returning a Value made from the parameters
    (``lambda: 1e-4 * sum(p * p for p in params)``), is added once to the batch's loss.
    With `has_aux`, fn returns ``(loss, aux)``: aux (a Value or nested list of Values, such
    as the model's outputs) comes back as an array beside the loss. `static` lists argument
    positions passed as numbers, not Values. `check`: compare each new program with the
    eager engine on a few examples of its first replay.
    """
    return Tape(
        fn, params, example_inputs, penalty=penalty, has_aux=has_aux, static=static, check=check
    )


class Tape:
    """A traced per-example function, replayed over whole batches. Made by `trace`.

    ``tape.traces`` counts the programs fn has been traced into so far: one at first, one
    more for each retrace, each static value (a class index) and each new path fn's
    decisions take. A test of your own code can assert it stays small, to catch a tape that
    traces again every step, as one would watch PyTorch's recompilations.
    """

    def __init__(
        self, fn: Callable[..., Any], params: Params, example_inputs: tuple[Any, ...], *,
        penalty: Callable[[], Value] | None = None, has_aux: bool = False,
        static: int | Iterable[int] = (), check: bool = True,
    ) -> None:
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
        self.traces = 0
        self._values_at: _ValuesAt | None = None  # value_and_grad's params, while it runs
        self.retrace()

    # --- tracing --------------------------------------------------------------------------

    def retrace(self) -> None:
        """Trace `fn` again: after changing the model in a way its parameters do not show.

        If tracing fails the tape stays as it was.
        """
        state = dict(self.__dict__)
        try:
            self.params = unique_params(self._fetch_params())
            self._index = {p: i for i, p in enumerate(self.params)}
            self._pdata = np.empty(len(self.params))
            self._programs: dict[Hashable, list[Program]] = {}  # per static value, per path
            self._checked: set[int] = set()  # ids of the programs compared with eager
            key = tuple(self._example[k] for k in self._static)
            dynamic = [a for k, a in enumerate(self._example) if k not in self._static]
            first = self._trace_twice(lambda: self._call_traced(dynamic, key), "fn")
            self._first = first
            self._add_program(key, first)
            self._penalty_programs: list[Program] = []
            if self.penalty is not None:
                self._penalty_programs.append(
                    self._trace_twice(self._call_penalty_traced, "penalty"))
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fetch_params(self) -> list[Value]:
        source = self._params_source
        if hasattr(source, "parameters") and callable(source.parameters):
            source = source.parameters()
        elif callable(source):
            source = source()
        return source if isinstance(source, list) else list(source)  # only read: no copy

    def _add_program(self, key: Hashable, program: Program) -> None:
        if program.shapes != self._first.shapes:
            raise TraceError(
                f"fn returns outputs of shapes {program.shapes} for static arguments "
                f"{key}, but {self._first.shapes} for others; they must not change"
            )
        self._programs.setdefault(key, []).append(program)
        self.traces += 1

    def _role(self, inputs: dict[Value, int]) -> Callable[[Value], LeafRole]:
        """What a leaf is: a `LeafRole` of kind "param", "input" or "const"."""
        index = self._index

        def role(leaf: Value) -> LeafRole:
            if leaf in index:
                return LeafRole("param", index[leaf])
            if leaf in inputs:
                return LeafRole("input", inputs[leaf])
            return LeafRole("const", leaf.data)

        return role

    def _arguments(
        self, dynamic: Iterable[Any], key: Iterable[Any],
        make: Callable[[float], Value] = Value,
    ) -> tuple[list[Any], dict[Value, int]]:
        """fn's arguments for one example: Values made by `make`, static ones as they are."""
        made: list[Value] = []
        arrays, statics = iter(dynamic), iter(key)
        args = [
            next(statics) if k in self._static else values_like(next(arrays), made, make)
            for k in range(len(self._example))
        ]
        return args, {v: i for i, v in enumerate(made)}

    def _call_traced(self, dynamic: Iterable[Any], key: Iterable[Any]) -> Traced:
        """fn on one example, traced: (outputs, shapes, inputs, guards)."""
        args, inputs = self._arguments(dynamic, key, traced_value)
        with recording(self.params) as recorder, enable_grad():
            try:
                result = self.fn(*args)
            except (TypeError, ValueError) as error:
                _explain_call_error(error)
                raise
        outputs, shapes = as_outputs(result, self.has_aux)
        return outputs, shapes, inputs, recorder.guards

    def _call_eager(
        self, dynamic: Iterable[Any], key: Iterable[Any]
    ) -> tuple[list[Value], Shapes]:
        """fn on one example by the eager engine: (outputs, shapes)."""
        args, _ = self._arguments(dynamic, key)
        with enable_grad():
            result = self.fn(*args)
        return as_outputs(result, self.has_aux)

    def _call_penalty_traced(self) -> Traced:
        assert self.penalty is not None
        with recording(self.params) as recorder, enable_grad():
            result = self.penalty()
        if not isinstance(result, Value):
            raise TypeError(f"trace(): penalty must return a Value, got {type(result).__name__}")
        return [result], ((), None), {}, recorder.guards

    def _call_penalty_eager(self) -> tuple[list[Value], Shapes]:
        assert self.penalty is not None
        with enable_grad():
            return [self.penalty()], ((), None)

    def _trace_twice(self, call: Callable[[], Traced], name: str) -> Program:
        # Two calls on the same example tell constants (new each call) from Values picked
        # up from outside (the same object both times), and catch randomness.
        outputs, shapes, inputs, guards = call()
        program = Program(outputs, shapes, self._role(inputs), name, guards)
        outputs, shapes, inputs, guards = call()
        again = Program(outputs, shapes, self._role(inputs), name, guards)
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

    def forward(self, *batch: Any) -> Any:
        """fn's value for every example of the batch, as an array (one row per example).

        With `has_aux` returns ``(losses, aux)``. Gradients are left untouched.
        """
        outputs, _, _ = self._replay(batch, None)
        return self._split_outputs(outputs)

    def backward(self, *batch: Any, reduction: str = "mean") -> Any:
        """Forward and backward over the batch: returns the loss, gradients go into p.grad.

        The loss is the mean (or with ``reduction="sum"`` the sum) of fn over the examples,
        plus the penalty. Each parameter's ``grad`` accumulates exactly what eager
        ``loss.backward()`` would add on the same batch. With `has_aux` returns
        ``(loss, aux)``, aux holding one row per example.
        """
        result, grads = self._value_and_grad(batch, None, reduction, "backward")
        for p, g in zip(self.params, grads.tolist()):
            p.grad += g
        return result

    def value_and_grad(
        self, *batch: Any, params: Any = None, reduction: str = "mean"
    ) -> tuple[Any, np.ndarray]:
        """The loss and its gradient as an array: ``(loss, grads)``, as ``jax.value_and_grad``.

        `params`: the parameters' numbers, a 1-D array of floats in the order of
        ``tape.params`` (`parameter_vector` gives the current ones); None reads them from
        the Values. The loss is what `backward` returns at those numbers (with `has_aux`,
        ``(loss, aux)``), `grads` a new array of d(loss)/d(param) in ``tape.params`` order.
        No Value's ``data`` or ``grad`` is changed. Examples the tape hands to the eager
        engine are computed at `params` too: for those the Values hold `params`' numbers
        for the time of the call, and get their own back before it returns, also on an
        error.
        """
        vector = None if params is None else _as_vector(params)
        return self._value_and_grad(batch, vector, reduction, "value_and_grad")

    def parameter_vector(self) -> np.ndarray:
        """The numbers of ``tape.params``, in order, as a new array: the `params` that
        `value_and_grad` reads from the Values when given none."""
        return np.fromiter((p.data for p in self.params), float, len(self.params))

    def _value_and_grad(
        self, batch: Sequence[Any], vector: np.ndarray | None, reduction: str, caller: str
    ) -> tuple[Any, np.ndarray]:
        if reduction not in ("mean", "sum"):
            raise ValueError(f"{caller}(): reduction must be 'mean' or 'sum', got {reduction!r}")
        if self._shapes[0] != ():
            raise TypeError(
                f"{caller}() needs fn to return one Value per example (its loss); it returns "
                f"shape {self._shapes[0]}. Reduce it to one Value, or return (loss, outputs) "
                "with has_aux=True"
            )
        swap = None if vector is None else _ValuesAt(vector)
        self._values_at = swap
        try:
            outputs, grads, pdata = self._replay(batch, reduction, vector, caller)
            loss = float(outputs[0].sum()) * _weight(reduction, outputs.shape[1])
            if self.penalty is not None:
                value, extra = self._replay_part("penalty", Examples.single(), pdata, 1.0)
                loss += float(value[0, 0])
                grads += extra
        finally:
            self._values_at = None
            if swap is not None:
                swap.restore()
        return ((loss, self._split_outputs(outputs)[1]) if self.has_aux else loss), grads

    @property
    def _shapes(self) -> Shapes:
        return self._first.shapes

    def _split_outputs(self, outputs: np.ndarray) -> Any:
        main, aux = self._shapes
        size = outputs.shape[1]
        n = int(np.prod(main, dtype=int))
        first = outputs[:n].T.reshape((size, *main))
        if not self.has_aux or aux is None:
            return first
        return first, outputs[n:].T.reshape((size, *aux))

    def _replay(
        self, batch: Sequence[Any], reduction: str | None,
        vector: np.ndarray | None = None, caller: str = "forward",
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Outputs (a row per output, a column per example), the summed gradients and the
        parameters' values they were computed at: `vector`, or the Values' numbers."""
        examples = as_batch(batch, self._example, self._static)
        current = self._fetch_params()
        retraced = False
        if current != self.params:  # by identity: Value's == is object's
            if set(current) != set(self.params):  # a new model or new layers: trace again
                self.retrace()
                retraced = True
        pdata = self._pdata  # one array, reused: the layers' views into it are made once
        if vector is None:
            pdata[:] = [p.data for p in self.params]  # a list is read faster than a generator
        elif len(vector) != len(self.params):  # checked here: a retrace changes the count
            why = (" (the model's parameters changed, so the tape traced fn again)"
                   if retraced else "")
            raise ValueError(
                f"{caller}(): params has {len(vector)} numbers, but the tape has "
                f"{len(self.params)} parameters{why}; pass one number per tape.params, in "
                "order, as tape.parameter_vector() gives them"
            )
        else:
            pdata[:] = vector
        weight = _weight(reduction, examples.size)
        parts = list(examples.parts())
        if len(parts) == 1:  # no static arguments, or one value of them: all of the batch
            outputs, grads = self._replay_part("fn", parts[0], pdata, weight)
            return outputs, grads, pdata
        outputs, grads = np.empty((len(self._first.outputs), examples.size)), np.zeros(len(pdata))
        for part in parts:
            values, part_grads = self._replay_part("fn", part, pdata, weight)
            outputs[:, part.index] = values
            grads += part_grads
        return outputs, grads, pdata

    def _replay_part(
        self, name: str, part: Examples, pdata: np.ndarray, weight: float | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and summed gradients of some examples with one static value: each
        example is replayed by the program of its path, traced when first met, or eagerly."""
        if name == "fn":
            programs = self._programs.setdefault(part.key, [])
        else:
            programs = self._penalty_programs
        outputs = np.empty((len(self._first.outputs) if name == "fn" else 1, part.size))
        grads = np.zeros(len(pdata))
        remaining, tried = np.arange(part.size), 0
        while remaining.size:
            traced_here = None
            if tried == len(programs):
                if len(programs) >= MAX_PROGRAMS:
                    to_eager = remaining
                    remaining = remaining[:0]
                    self._run_eagerly(name, part, to_eager, weight, outputs, grads)
                    break
                traced_here = int(remaining[0])
                self._trace_path(name, part, traced_here, programs)
            program = programs[tried]
            tried += 1
            some = part if len(remaining) == part.size else part.take(remaining)
            replay = tape_replay.run(program, some, pdata, weight, self._redo_eagerly)
            done = ~(replay.left | replay.to_eager)
            if self.check and id(program) not in self._checked and done.any():
                self._check_against_eager(name, program, some, np.flatnonzero(done), pdata)
            if tried == 1 and done.all():  # the usual case: all follow the first program
                return replay.outputs, replay.grads
            outputs[:, remaining[done]] = replay.outputs[:, done]
            if weight is not None:
                grads += replay.grads
            left = remaining[replay.left]
            if traced_here is not None and traced_here in left:  # rounding: it cannot tell
                replay.to_eager[remaining == traced_here] = True
                left = left[left != traced_here]
            self._run_eagerly(name, part, remaining[replay.to_eager], weight, outputs, grads)
            remaining = left
        return outputs, grads

    def _trace_path(self, name: str, part: Examples, k: int, programs: list[Program]) -> None:
        """A program for the path example k of `part` takes, added to `programs`."""
        self._use_given_params()
        if name == "fn":
            example = part.example(k)
            program = self._trace_twice(lambda: self._call_traced(example, part.key), "fn")
            self._add_program(part.key, program)
        else:
            programs.append(self._trace_twice(self._call_penalty_traced, "penalty"))

    def _run_eagerly(
        self, name: str, part: Examples, ks: np.ndarray, weight: float | None,
        outputs: np.ndarray, grads: np.ndarray,
    ) -> None:
        for k in ks:
            values, example_grads = self._eager_example(name, part, int(k), weight)
            outputs[:, k] = values
            if example_grads is not None:
                grads += example_grads

    def _eager_example(
        self, name: str, part: Examples, k: int, weight: float | None = None
    ) -> tuple[list[float], np.ndarray | None]:
        """Example k of a part (or the penalty) by the eager engine: its outputs and, with a
        weight, its gradients x weight. Its errors name the example."""
        where = f"example {part.index[k]} of the batch" if name == "fn" else "the penalty"
        self._use_given_params()
        try:
            if name == "fn":
                outputs, shapes = self._call_eager(part.example(k), part.key)
                if shapes != self._shapes:
                    raise TraceError(
                        f"fn returns shapes {shapes} for {where}, but {self._shapes} for "
                        "the traced example; they must not change"
                    )
            else:
                outputs, shapes = self._call_penalty_eager()
            values = [v.data for v in outputs]
            if weight is None:
                return values, None
            return values, _eager_gradients(outputs[0], self.params, weight)
        except (ArithmeticError, ValueError) as error:
            raise type(error)(f"{where}: {error}") from error

    def _use_given_params(self) -> None:
        """Before fn or the penalty runs on Values (eager engine, tracing a new path): in
        `value_and_grad` with a params vector, the parameters must hold its numbers."""
        if self._values_at is not None:
            self._values_at.apply(self.params)

    def _redo_eagerly(
        self, name: str, part: Examples, k: int, weight: float | None = None
    ) -> np.ndarray | None:
        """For tape_replay: example k by the eager engine after the tape met a non-finite
        number; it raises its own clear error, or gives the gradients x weight."""
        return self._eager_example(name, part, k, weight)[1]

    def _check_against_eager(
        self, name: str, program: Program, part: Examples, done: np.ndarray, pdata: np.ndarray
    ) -> None:
        """A new program's numbers against the eager engine's, on a few examples it took
        (a safety net: every decision fn takes on its numbers is guarded already)."""
        self._checked.add(id(program))
        picks = done if len(done) <= _CHECK_SAMPLE else done[
            np.unique(np.linspace(0, len(done) - 1, _CHECK_SAMPLE).astype(int))]
        scalar = program.shapes[0] == ()
        for k in picks:
            one = part.take(np.array([k]))
            replay = tape_replay.run(program, one, pdata, 1.0 if scalar else None,
                                     self._redo_eagerly)
            if replay.left.any() or replay.to_eager.any():
                continue
            values, grads = self._eager_example(name, part, int(k), 1.0 if scalar else None)
            if not (_close(replay.outputs[:, 0], values)
                    and (not scalar or _close(replay.grads, grads))):
                where = f"example {part.index[k]} of the batch" if name == "fn" else name
                raise TraceError(
                    f"the trace does not hold for {where}: it gives {replay.outputs[:, 0]!r}, "
                    f"the eager engine {values!r}. {name} depends on something the tape does "
                    "not see (a global, state, a number converted in a way it cannot "
                    "follow); pass such arguments in static, or use the eager engine"
                )

    def __repr__(self) -> str:
        p = self._first
        count = sum(len(programs) for programs in self._programs.values())
        more = f" (+{count - 1} for other paths or static values)" * (count > 1)
        return (
            f"<Tape: {p.n_nodes} nodes per example in {len(p.groups)} numpy groups on "
            f"{p.n_levels} levels{more}, {len(self.params)} params>"
        )


def _explain_call_error(error: Exception) -> None:
    """A TypeError or ValueError fn raised on a traced number becomes a TraceError."""
    if "<traced number" in str(error):
        raise TraceError(
            f"fn used a number it read from a Value (v.data) where a plain number is needed "
            f"({type(error).__name__}: {error}). The tape follows such numbers through "
            "arithmetic and comparisons only. Keep it a Value, use v.detach() for a constant, "
            "pass such arguments (class indices) in static, or use the eager engine"
        ) from error
    if isinstance(error, TypeError) and hasattr(error, "add_note"):  # Python 3.11+
        error.add_note(
            "note: the tape passes the example's numbers to fn as Values (nested "
            "lists of Values for arrays); list arguments used as indices in static"
        )


@overload
def _weight(reduction: str, size: int) -> float: ...
@overload
def _weight(reduction: None, size: int) -> None: ...
def _weight(reduction: str | None, size: int) -> float | None:
    """Each example's weight in the loss: 1/size for "mean", 1 for "sum", None for no loss."""
    if reduction is None:
        return None
    return 1.0 / size if reduction == "mean" else 1.0


def _eager_gradients(root: Value, params: list[Value], weight: float = 1.0) -> np.ndarray:
    """d(root)/d(p) x weight for each param by eager backward."""
    saved = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    try:
        root.backward(weight)
        return np.array([p.grad for p in params])
    finally:
        for p, g in zip(params, saved):
            p.grad = g


def _close(a: Any, b: Any) -> bool:
    return bool(np.allclose(a, b, rtol=1e-7, atol=1e-9))


def _as_vector(params: Any) -> np.ndarray:
    """`value_and_grad`'s params as a 1-D float array, or a clear error (nothing changed).
    Its length is checked by `Tape._replay`, once the tape has its current parameters."""
    expected = "a 1-D array of real numbers, one per tape.params (tape.parameter_vector())"
    try:
        array = np.asarray(params)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"value_and_grad(): params must be {expected}; numpy cannot read the "
            f"{type(params).__name__} given as an array ({error})"
        ) from None
    if array.dtype.kind not in "iuf":  # not bool, complex, str, object
        raise TypeError(
            f"value_and_grad(): params must be {expected}; got an array of dtype "
            f"{array.dtype} ({type(params).__name__})"
        )
    if array.ndim != 1:
        raise ValueError(f"value_and_grad(): params must be {expected}; got shape {array.shape}")
    vector = np.asarray(array, dtype=float)
    if not np.isfinite(vector).all():
        bad = np.flatnonzero(~np.isfinite(vector))
        more = f" ({bad.size} non-finite numbers in all)" if bad.size > 1 else ""
        raise ValueError(
            f"value_and_grad(): params must be finite; params[{bad[0]}] is {vector[bad[0]]}{more}"
        )
    return vector


class _ValuesAt:
    """Puts a vector's numbers into the parameters' ``data`` (the eager engine and tracing
    read them there), once, on first need; `restore` gives them their own numbers back."""

    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector
        self.saved: list[tuple[Value, float]] | None = None

    def apply(self, params: list[Value]) -> None:
        if self.saved is not None:
            return
        self.saved = [(p, p.data) for p in params]  # all saved before any is changed
        for p, x in zip(params, self.vector.tolist()):
            p.data = x

    def restore(self) -> None:
        for p, x in self.saved or ():
            p.data = x
        self.saved = None
