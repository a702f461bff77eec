"""SGD, RMSprop, Adam and AdamW with the update rules and defaults of ``torch.optim``.

An optimizer holds parameters (Values) in ``param_groups`` (dicts of the parameters and
their hyper-parameters, so a group may have its own ``lr``) and per-parameter ``state``.
``step()`` moves every parameter using its ``.grad``; ``zero_grad()`` resets the grads.
Each rule below is written on plain floats, one parameter at a time, in torch's order of
operations, so 25 steps here and in PyTorch agree to float rounding.

A step is all or nothing: every new parameter value and every new piece of state is
computed first; if any is inf or nan (too large a learning rate, an exploding gradient),
``step()`` raises OverflowError naming the parameter and changes nothing.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeAlias

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


class Optimizer:
    """Base class: parameter groups, state, zero_grad, state_dict."""

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Value, dict[str, Any]] = {}
        self._names: dict[int, str] = {}  # id(Value) -> its name in its Module, for errors
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
        updates, index = [], 0
        for group in self.param_groups:
            for p in group["params"]:
                g = -p.grad if group.get("maximize") else p.grad
                state = dict(self.state.get(p, ()))
                try:
                    data = self._update(p.data, g, group, state)
                except (OverflowError, ValueError, ZeroDivisionError) as error:
                    self._not_finite(p, index, g, group, f"fails ({error})")
                if not math.isfinite(data):
                    self._not_finite(p, index, g, group, f"would make it {data!r}")
                for key, value in state.items():
                    if isinstance(value, float) and not math.isfinite(value):
                        self._not_finite(p, index, g, group, f"would make its {key} {value!r}")
                updates.append((p, data, state))
                index += 1
        for p, data, state in updates:  # every update is finite: store them all
            p.data = data
            self.state.setdefault(p, {}).update(state)
        return loss

    def _not_finite(self, p, index, g, group, what):
        name = self._names.get(id(p))
        who = f"parameter {name!r}" if name else f"parameter {index} (counting from 0)"
        shown = ("lr", "weight_decay", "momentum")
        hyper = ", ".join(f"{k}={group[k]:g}" for k in shown if group.get(k))
        raise OverflowError(
            f"{type(self).__name__}.step(): the update of {who} (value {p.data!r}, grad {g!r}; "
            f"{hyper}) {what}; nothing was changed. Lower the learning rate or clip the "
            "gradients."
        )

    def _update(self, x, g, group, state) -> float:
        """The new value of a parameter now `x` with gradient `g`; updates `state` (a copy
        of the parameter's state) in place. Must not touch the parameter itself."""
        raise NotImplementedError

    # --- saving and restoring ---------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: {...}}, "param_groups": [...]} with parameters as indices."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items() if s}
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
            new_state[params[int(key)]] = copy.deepcopy(s)
        for saved, group in zip(groups, self.param_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = new_state

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
            avg = math.sqrt(state["square_avg"] - state["grad_avg"] ** 2) + group["eps"]
        else:
            avg = math.sqrt(state["square_avg"]) + group["eps"]
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
            state["max_exp_avg_sq"] = v = max(state["max_exp_avg_sq"], v)
        denom = math.sqrt(v) / bias_correction2_sqrt + group["eps"]
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
