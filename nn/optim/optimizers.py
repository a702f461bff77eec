"""SGD, RMSprop, Adam and AdamW with the update rules and defaults of ``torch.optim``.

An optimizer holds parameters (Values) in ``param_groups`` (dicts of the parameters and
their hyper-parameters, so a group may have its own ``lr``) and per-parameter ``state``.
``step()`` moves every parameter using its ``.grad``; ``zero_grad()`` resets the grads.

Each rule below is written once, on numpy arrays with one number per parameter of a group:
``step()`` gathers the group's numbers and grads, runs the rule in torch's order of
operations, and writes the new numbers back. Elementwise + - * / and sqrt on float64 round
exactly as they do on Python floats, so a step gives the very numbers the same formula gives
one parameter at a time, and 25 steps here and in PyTorch agree to float rounding. The
state is kept the same way (one array per group and piece of state, such as ``exp_avg``);
``optimizer.state`` shows it per parameter, as Python numbers.

A step is all or nothing: every new parameter value and every new piece of state is
computed first; if any is inf or nan (too large a learning rate, an exploding gradient),
``step()`` raises OverflowError naming the parameter and changes nothing.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeAlias

import numpy as np

from autograd import Value

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Params"]


class _HasParameters(Protocol):
    def parameters(self) -> list[Value]: ...


Params: TypeAlias = "Iterable[Value] | Iterable[dict[str, Any]] | _HasParameters"
"""What an optimizer takes: Values, parameter groups (dicts with a "params" list), or a
Module (its ``parameters()``)."""


def _hyper(name, value, low=0.0, high=math.inf, high_open=False):
    """A finite float in [low, high] (or [low, high)), else ValueError at construction."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and low <= value and (value < high if high_open else value <= high)
    if not ok:
        bound = f"[{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"Invalid {name}: {value!r} (must be a number in {bound})")
    return float(value)


class _GroupState:
    """The state of one parameter group: for each piece of state ("step", "exp_avg", ...)
    an array with one number per parameter, and a mask of the parameters that have it
    (none before their first step; some only after loading a partial state)."""

    def __init__(self, params: list[Value]) -> None:
        self.source = params  # the group's "params" list, to notice if it is replaced
        self.params = tuple(params)  # the parameters the arrays are indexed by
        self.values: dict[str, np.ndarray] = {}
        self.has: dict[str, np.ndarray] = {}

    def copy_of(self, key):
        """Copies of the values and mask of piece `key` (zeros and False if nobody has it)."""
        if key in self.values:
            return self.values[key].copy(), self.has[key].copy()
        dtype = np.int64 if key == "step" else np.float64
        return np.zeros(len(self.params), dtype), np.zeros(len(self.params), bool)

    def put(self, key, i, value):
        """Give parameter i piece `key` = value."""
        if key not in self.values:
            self.values[key], self.has[key] = self.copy_of(key)
        self.values[key][i] = value
        self.has[key][i] = True

    def of(self, i):
        """Parameter i's state as Python numbers; {} if it has none."""
        return {key: self.values[key][i].item() for key, has in self.has.items() if has[i]}

    def every(self):
        """Every parameter's state, as `of` gives it, one tolist() per piece."""
        states = [{} for _ in self.params]
        for key, has in self.has.items():
            for state, present, value in zip(states, has.tolist(), self.values[key].tolist()):
                if present:
                    state[key] = value
        return states

    def parts(self):
        """(index, first, state) for parameters that have the same pieces of state and the
        same step count, covering the group (`first` is the position of the first). The rule
        sees, as a rule for one parameter would, only the pieces they have, and the step
        count as an int: powers such as beta1**t stay Python's (numpy's power does not round
        as libm's does). Usually one part, the whole group; more after a partial load."""
        n = len(self.params)
        steps = self.values.get("step")
        if (all(has.all() or not has.any() for has in self.has.values())
                and (steps is None or (steps == steps[0]).all())):
            yield slice(None), 0, self._state(slice(None), 0)
            return
        rows = [*self.has.values(), steps if steps is not None else np.zeros(n, np.int64)]
        _, part_of = np.unique(np.stack(rows), axis=1, return_inverse=True)
        part_of = part_of.ravel()
        for part in range(part_of.max() + 1):
            index = np.flatnonzero(part_of == part)
            yield index, int(index[0]), self._state(index, index[0])

    def _state(self, index, first):
        """The rule's `state` for the parameters at `index`: copies, so that nothing the
        rule does can reach the state before the step is known to be finite."""
        return {key: int(values[first]) if key == "step" else values[index].copy()
                for key, values in self.values.items() if self.has[key][first]}


class _StateView(Mapping[Value, dict[str, Any]]):
    """``optimizer.state``: {parameter: {"step": 3, "exp_avg": 0.1, ...}} for every parameter
    that has state, read from the optimizer's arrays on access. The dicts are copies: to
    change the state assign ``optimizer.state = {...}`` or use ``load_state_dict``."""

    def __init__(self, optimizer: Optimizer) -> None:
        self._optimizer = optimizer

    def __getitem__(self, p: Value) -> dict[str, Any]:
        states, i = self._optimizer._position(p)
        state = states.of(i)
        if not state:
            raise KeyError(p)
        return state

    def __iter__(self) -> Iterator[Value]:
        for states in self._optimizer._group_states():
            yield from (p for p, state in zip(states.params, states.every()) if state)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class Optimizer:
    """Base class: parameter groups, state, zero_grad, state_dict."""

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self._states: list[_GroupState] = []  # one per group: the state, as arrays
        self._where: dict[int, tuple[_GroupState, int]] | None = None  # id(Value) -> place
        self._names: dict[int, str] = {}  # id(Value) -> its name in its Module, for errors
        self._layout: tuple[tuple[Any, ...], list[np.ndarray] | None] | None = None
        given: Any = params
        if hasattr(given, "parameters") and callable(given.parameters):
            if callable(getattr(given, "named_parameters", None)):
                self._names = {id(p): name for name, p in given.named_parameters()}
            given = given.parameters()  # a Module: its parameters
        if isinstance(given, Value):
            raise TypeError("params must be an iterable of Values (such as model.parameters()), "
                            "got a single Value; wrap it in a list")
        items = list(given)
        if not items:
            raise ValueError("optimizer got an empty parameter list")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        for group in groups:
            self.add_param_group(group)

    def _check(self, group):
        """Raise ValueError for a hyper-parameter out of range (each optimizer adds its own)."""
        _hyper("learning rate", group["lr"])
        _hyper("weight_decay value", group["weight_decay"])

    def add_param_group(self, group: dict[str, Any]) -> None:
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError("a parameter group is a dict with a 'params' list")
        params = group["params"]
        params = [params] if isinstance(params, Value) else list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(
                    f"optimizer can only optimize Values, param {i} is {type(p).__name__}"
                )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError("some parameters appear more than once (in one or several groups)")
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise ValueError(f"unknown hyper-parameters in a parameter group: {sorted(unknown)}")
        full = {**self.defaults, **group, "params": params}
        self._check(full)
        self.param_groups.append(full)
        self._states.append(_GroupState(params))
        self._where = None

    # --- state: arrays per group, a mapping per parameter ------------------------------

    @property
    def state(self) -> Mapping[Value, dict[str, Any]]:
        """{parameter: {"step": ..., "exp_avg": ..., ...}} with Python numbers, for every
        parameter that has state ({} before the first step). Read-only view; assign a
        whole mapping (``optimizer.state = {}`` forgets all state) to change it."""
        return _StateView(self)

    @state.setter
    def state(self, state: Mapping[Value, dict[str, Any]]) -> None:
        self._states = self._filled(dict(state))
        self._where = None

    def _group_states(self) -> list[_GroupState]:
        """The groups' states; re-indexed first if a group's "params" list was replaced or
        resized since, so each parameter keeps its own state."""
        groups, states = self.param_groups, self._states
        if len(groups) != len(states) or any(
            s.source is not g["params"] or len(s.params) != len(g["params"])
            for g, s in zip(groups, states)
        ):
            kept = {id(p) for g in groups for p in g["params"]}
            self._states = self._filled({p: state for s in states
                                         for p, state in zip(s.params, s.every())
                                         if state and id(p) in kept})
            self._where = None
        return self._states

    def _position(self, p):
        """(the _GroupState of p's group, p's index in it); KeyError if p is not a parameter."""
        if self._where is None:
            self._where = {id(q): (s, i) for s in self._group_states()
                           for i, q in enumerate(s.params)}
        states, i = self._where[id(p)]  # the parameters are kept alive by states.params
        return states, i

    def _filled(self, state):
        """New group states holding `state` ({parameter: {piece: number}}); nothing changes
        on ValueError (a Value that is not a parameter, a piece that is not a number)."""
        new = [_GroupState(group["params"]) for group in self.param_groups]
        where, index = {}, 0
        for s in new:
            for i, p in enumerate(s.params):
                where[id(p)] = (s, i, index)
                index += 1
        for p, pieces in state.items():
            if id(p) not in where:
                raise ValueError(f"optimizer state for {p!r}, which is not one of its parameters")
            states, i, index = where[id(p)]
            for key, value in pieces.items():
                ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
                if ok and key == "step":  # a count: 3, or 3.0 (as torch saves it)
                    ok = float(value).is_integer()
                    value = int(value) if ok else value
                if not ok:
                    raise ValueError(
                        f"optimizer state: {key} of {self._who(p, index)} is {value!r}; the "
                        "state holds numbers (whole step counts, averages), one per parameter"
                    )
                states.put(key, i, value)
        return new

    def zero_grad(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = 0.0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter from its ``.grad``; returns ``closure()`` if given.

        All new values are computed before any is stored: if one parameter's new value or
        state is not finite, OverflowError names it and no parameter or state changes.
        """
        loss = closure() if closure is not None else None
        numbers = [(np.array([p.data for p in states.params], dtype=np.float64),
                    np.array([p.grad for p in states.params], dtype=np.float64))
                   for states in self._group_states()]
        for states, x in zip(self._states, self._step_arrays(numbers)):
            for p, data in zip(states.params, x.tolist()):
                p.data = data
        return loss

    def _vector_layout(self, params: list[Value]) -> list[np.ndarray] | None:
        """Where each group's parameters sit in `params`, for `_step_vector`; None unless
        `params` holds every parameter of this optimizer and nothing else. Made again only
        for another list, or when the groups' states were made again (`_group_states`)."""
        states = self._group_states()
        made_for = (params, *states)
        if self._layout is not None and len(self._layout[0]) == len(made_for) and all(
                a is b for a, b in zip(self._layout[0], made_for)):
            return self._layout[1]
        position = {id(p): i for i, p in enumerate(params)}
        layout: list[np.ndarray] | None = None
        if (len(position) == len(params) == sum(len(s.params) for s in states)
                and all(id(p) in position for s in states for p in s.params)):
            layout = [np.array([position[id(p)] for p in s.params], dtype=np.intp)
                      for s in states]
        self._layout = (made_for, layout)
        return layout

    def _step_vector(
        self, x: np.ndarray, g: np.ndarray, layout: list[np.ndarray]
    ) -> np.ndarray:
        """`step()` for parameters whose numbers and gradients are held in vectors (in the
        order `layout` was made for), as the batched tape holds them: the new numbers, as
        a new vector. Values are neither read nor written; the state is, as by step().
        The very numbers step() gives with the Values holding `x` and grads `g`."""
        numbers = [(x[at], g[at]) for at in layout]
        new_x = np.empty_like(x)
        for at, new in zip(layout, self._step_arrays(numbers)):
            new_x[at] = new
        return new_x

    def _step_arrays(self, numbers):
        """Every group's new numbers from [(numbers, gradients)] per group (arrays); the
        state is updated only once every group's update is known to be finite."""
        updates, offset = [], 0
        for group, states, (x, g) in zip(self.param_groups, self._group_states(), numbers):
            updates.append((states, *self._step_group(group, states, offset, x, g)))
            offset += len(group["params"])
        for states, _, new_state in updates:  # every update is finite: store them all
            for key, (values, has) in new_state.items():
                states.values[key], states.has[key] = values, has
        return [new_x for _, new_x, _ in updates]

    def _step_group(self, group, states, offset, x, g):
        """The group's new numbers and new state arrays {piece: (values, has)}, from its
        numbers `x` and gradients `g`, or OverflowError for its first parameter whose update
        fails or is not finite."""
        if not states.params:
            return x, {}
        if group.get("maximize"):
            g = -g
        new_x = x.copy()
        new_state = {}  # piece -> (values, has): copies of the group's arrays, updated
        failed = {}  # first parameter of a part -> how its rule failed
        for index, first, state in states.parts():
            try:
                with np.errstate(all="ignore"):  # inf and nan are looked for below
                    new_x[index] = self._update(x[index], g[index], group, state)
            except (OverflowError, ValueError, ZeroDivisionError) as error:
                failed[first] = f"fails ({error})"
                continue
            for key, value in state.items():
                if key not in new_state:
                    new_state[key] = states.copy_of(key)
                values, has = new_state[key]
                values[index] = value
                has[index] = True
        bad = ~np.isfinite(new_x)
        for values, has in new_state.values():
            if values.dtype.kind == "f":
                bad |= has & ~np.isfinite(values)
        if failed or bad.any():
            i = min([*failed, *np.flatnonzero(bad)[:1].tolist()])
            if i in failed:
                what = failed[i]
            elif not math.isfinite(new_x[i]):
                what = f"would make it {new_x[i].item()!r}"
            else:
                key, value = next((k, v[i].item()) for k, (v, h) in new_state.items()
                                  if h[i] and not math.isfinite(v[i]))
                what = f"would make its {key} {value!r}"
            self._not_finite(states.params[i], offset + i, x[i].item(), g[i].item(), group,
                             what)
        return new_x, new_state

    def _who(self, p, index):
        name = self._names.get(id(p))
        return f"parameter {name!r}" if name else f"parameter {index} (counting from 0)"

    def _not_finite(self, p, index, x, g, group, what):
        shown = ("lr", "weight_decay", "momentum")
        hyper = ", ".join(f"{k}={group[k]:g}" for k in shown if group.get(k))
        raise OverflowError(
            f"{type(self).__name__}.step(): the update of {self._who(p, index)} (value "
            f"{x!r}, grad {g!r}; {hyper}) {what}; nothing was changed. Lower the "
            "learning rate or clip the gradients."
        )

    def _update(self, x, g, group, state):
        """The new numbers of parameters now `x` with gradients `g` (arrays, one number per
        parameter); updates `state` (their pieces of state: arrays, and "step" an int) by
        assigning new arrays to its keys. Must not touch the parameters themselves."""
        raise NotImplementedError

    # --- saving and restoring ---------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: {...}}, "param_groups": [...]} with parameters as indices."""
        groups, index = [], 0
        state: dict[int, dict[str, Any]] = {}
        for group, states in zip(self.param_groups, self._group_states()):
            ids = list(range(index, index + len(states.params)))
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
            state.update((i, s) for i, s in zip(ids, states.every()) if s)
            index += len(ids)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state saved by `state_dict`."""
        groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        if not isinstance(groups, list) or len(groups) != len(self.param_groups):
            raise ValueError(
                f"load_state_dict: expected {len(self.param_groups)} parameter group(s), got "
                f"{len(groups) if isinstance(groups, list) else groups!r}"
            )
        params = [p for g in self.param_groups for p in g["params"]]
        for i, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved.get("params", ())) != len(group["params"]):
                raise ValueError(
                    f"load_state_dict: group {i} has {len(group['params'])} parameters, the "
                    f"saved one {len(saved.get('params', ()))}"
                )
        saved_state = state_dict.get("state", {})
        new_state = {}
        for key, s in saved_state.items():
            if not str(key).isdigit() or int(key) >= len(params):
                raise ValueError(f"load_state_dict: state for unknown parameter {key!r}")
            new_state[params[int(key)]] = s
        self.state = new_state  # first: a piece that is not a number changes nothing
        for saved, group in zip(groups, self.param_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i} ({len(group['params'])} parameters)")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"


class SGD(Optimizer):
    """Gradient descent, optionally with momentum (heavy ball or Nesterov) and weight decay.

    g = grad + weight_decay·p;  buf = momentum·buf + (1 - dampening)·g (buf = g at first);
    g = g + momentum·buf if nesterov else buf;  p -= lr·g.
    """

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def _check(self, group):
        super()._check(group)
        _hyper("momentum value", group["momentum"])
        _hyper("dampening value", group["dampening"], -math.inf)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, x, g, group, state):
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * x
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = g
            else:
                buf = buf * momentum + (1 - group["dampening"]) * g
            state["momentum_buffer"] = buf
            g = g + momentum * buf if group["nesterov"] else buf
        return x - group["lr"] * g


class RMSprop(Optimizer):
    """Divide each step by a running root-mean-square of recent gradients.

    v = alpha·v + (1 - alpha)·g²;  p -= lr·g / (sqrt(v) + eps). ``centered`` subtracts the
    squared running mean of g from v; ``momentum`` accumulates the scaled steps.
    """

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize}
        super().__init__(params, defaults)

    def _check(self, group):
        super()._check(group)
        _hyper("epsilon value", group["eps"])
        _hyper("momentum value", group["momentum"])
        _hyper("alpha value", group["alpha"])

    def _update(self, x, g, group, state):
        if not state:
            state.update(step=0, square_avg=0.0)
            if group["momentum"] > 0:
                state["momentum_buffer"] = 0.0
            if group["centered"]:
                state["grad_avg"] = 0.0
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * x
        alpha = group["alpha"]
        state["square_avg"] = state["square_avg"] * alpha + (1 - alpha) * (g * g)
        if group["centered"]:
            state["grad_avg"] = _lerp(state["grad_avg"], g, 1 - alpha)
            grad_avg = state["grad_avg"]  # squared as torch's addcmul does: grad_avg·grad_avg
            avg = np.sqrt(state["square_avg"] - grad_avg * grad_avg) + group["eps"]
        else:
            avg = np.sqrt(state["square_avg"]) + group["eps"]
        if group["momentum"] > 0:
            state["momentum_buffer"] = state["momentum_buffer"] * group["momentum"] + g / avg
            return x - group["lr"] * state["momentum_buffer"]
        return x - group["lr"] * (g / avg)


def _lerp(start, end, weight):
    """start + weight·(end - start), computed as torch.lerp does."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


class Adam(Optimizer):
    """Momentum and RMSprop together, with bias correction for the first steps.

    m = beta1·m + (1 - beta1)·g;  v = beta2·v + (1 - beta2)·g²;
    p -= lr/(1 - beta1^t) · m / (sqrt(v)/sqrt(1 - beta2^t) + eps).
    ``weight_decay`` adds weight_decay·p to g (L2); ``amsgrad`` uses the largest v so far.
    """

    _decoupled = False

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize}
        super().__init__(params, defaults)

    def _check(self, group):
        super()._check(group)
        _hyper("epsilon value", group["eps"])
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Invalid betas: {betas!r} (must be two numbers in [0, 1))")
        for i, beta in enumerate(betas):
            _hyper(f"beta parameter at index {i}", beta, 0.0, 1.0, high_open=True)

    def _update(self, x, g, group, state):
        if not state:
            state.update(step=0, exp_avg=0.0, exp_avg_sq=0.0)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = 0.0
        state["step"] += 1
        t, lr, wd = state["step"], group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if wd != 0:
            if self._decoupled:
                x = x * (1 - lr * wd)
            else:
                g = g + wd * x
        state["exp_avg"] = _lerp(state["exp_avg"], g, 1 - beta1)
        state["exp_avg_sq"] = state["exp_avg_sq"] * beta2 + (1 - beta2) * (g * g)
        step_size = lr / (1 - beta1**t)
        bias_correction2_sqrt = (1 - beta2**t) ** 0.5
        v = state["exp_avg_sq"]
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = v = np.maximum(state["max_exp_avg_sq"], v)
        denom = np.sqrt(v) / bias_correction2_sqrt + group["eps"]
        return x - step_size * (state["exp_avg"] / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr·weight_decay before the Adam step,
    instead of adding weight_decay·p to the gradient. Default weight_decay 0.01 as PyTorch."""

    _decoupled = True

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
