"""`Module`: the base of every layer and model.

A module is made of what its attributes hold, as in PyTorch: a `Value` or a list of Values
is a parameter, a `Module` or a list of Modules is a child. Names are attribute paths
(``layers.0.neurons.3.weight``). Numbers that are state without being trained (BatchNorm's
running statistics) are buffers, listed by name in the class's ``_buffers``.
Attributes whose names start with "_" are private and never part of the state.

nn's weights and biases are `Parameter`s (a Value that says it is learned, as
``torch.nn.Parameter``), and a Parameter's label is its name in the model, with a list's
index in brackets: ``layers.0.neurons.1.weight[0]``, ``layers.0.neurons.1.bias`` (a
standalone Neuron's are ``weight[0]``, ``bias``), so a diagram speaks the model's names.
Labels are set when something is assigned into a module, and a module assigned into
another takes its path along, so they hold however models are built or nested; a forward
pass costs nothing extra. `named_parameters()` sets them again (a list changed in place, a
parameter shared by two modules: it carries the first name, the one listed).
"""

from __future__ import annotations

import contextlib
import inspect
import math
import numbers
import os
from collections import namedtuple
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import Any, TypeVar

import numpy as np

from autograd import Parameter, Value
from autograd.nested import Nested, as_example, data_of

LoadResult = namedtuple("LoadResult", ["missing_keys", "unexpected_keys"])

M = TypeVar("M", bound="Module")

MODULES: dict[str, type[Module]] = {}
"""Module classes by `class_key`, so `Module.load` rebuilds a saved model without running code."""


def class_key(cls: type) -> str:
    """A class's full name, "nn.layers.MLP": what a model file records."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _all_are(items, kind) -> bool:
    # items[0] first: most lists are told apart by it; map runs the rest in C, which
    # matters to parameters(), called on every step (a tape checks the model with it)
    return bool(items) and isinstance(items[0], kind) and all(map(isinstance, items,
                                                                  repeat(kind)))


def _place(item, path: str) -> None:
    """Give what an attribute at `path` holds its name: a Parameter its label, a module
    (and everything inside it) its path. Anything else is left alone."""
    if isinstance(item, Parameter):
        item.label = path
    elif isinstance(item, Module):
        item._relabel(path + ".")
    elif isinstance(item, (list, tuple)):
        if _all_are(item, Value):
            for i, v in enumerate(item):
                if isinstance(v, Parameter):
                    v.label = f"{path}[{i}]"
        elif _all_are(item, Module):
            for i, m in enumerate(item):
                m._relabel(f"{path}.{i}.")


def input_values(x: Nested, width: int, who: str) -> list[Value]:
    """One example as `width` Values: numbers become constants labelled by position
    (``x[0]``), Values pass through as they are. A module converts its inputs once, so a
    number that several neurons read is one node of the graph, not one per neuron."""
    return [v if isinstance(v, Value) else Value(v, label=f"x[{i}]")
            for i, v in enumerate(as_example(x, width, who))]


class Module:
    """Base class: parameters, train/eval mode, state_dict and saving for any model."""

    training = True
    _buffers: tuple[str, ...] = ()
    _prefix = ""  # this module's path in the model it was assigned into, with a final "."

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        MODULES[class_key(cls)] = cls

    def __call__(self, x: Nested) -> Nested:
        return self.forward(x)

    def forward(self, x: Nested) -> Nested:
        raise NotImplementedError(f"{type(self).__name__} must define forward(x)")

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if not name.startswith("_"):
            _place(value, self._prefix + name)

    def _relabel(self, prefix: str) -> None:
        """This module now sits at `prefix` ("layers.0."): label everything inside."""
        self._prefix = prefix
        for name, item in vars(self).items():
            if not name.startswith("_"):
                _place(item, prefix + name)

    # --- what the module is made of ----------------------------------------------------

    def _held(self, kind) -> list:
        """(name, item) for each public attribute holding a `kind` or a list of them."""
        return [(name, item) for name, item in vars(self).items()
                if (isinstance(item, kind)
                    or isinstance(item, (list, tuple)) and _all_are(item, kind))
                and not name.startswith("_")]

    def named_children(self) -> list[tuple[str, Module]]:
        out = []
        for name, item in self._held(Module):
            if isinstance(item, Module):
                out.append((name, item))
            else:
                out.extend((f"{name}.{i}", m) for i, m in enumerate(item))
        return out

    def children(self) -> list[Module]:
        return [m for _, m in self.named_children()]

    def named_modules(self, prefix: str = "") -> list[tuple[str, Module]]:
        """This module and every module inside it, depth first, with their paths."""
        out = [(prefix, self)]
        for name, child in self.named_children():
            out.extend(child.named_modules(_join(prefix, name)))
        return out

    def modules(self) -> list[Module]:
        """This module and every module inside it, depth first (`named_modules` without
        building the paths)."""
        out = [self]
        for _, item in self._held(Module):
            for child in [item] if isinstance(item, Module) else item:
                out.extend(child.modules())
        return out

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, Value) for every parameter, one number each: ``layers.0.neurons.0.weight.1``.

        Each Parameter's label is (re)set to its name, as a label spells it
        (``layers.0.neurons.0.weight[1]``), after this module's own path.
        """
        out, seen = [], set()
        for prefix, module in self.named_modules():
            for name, item in module._held(Value):
                key = _join(prefix, name)
                triples = [(key, key, item)] if isinstance(item, Value) else [
                    (f"{key}.{i}", f"{key}[{i}]", v) for i, v in enumerate(item)
                ]
                for k, label, v in triples:
                    if id(v) not in seen:  # a shared parameter is listed once
                        seen.add(id(v))
                        out.append((k, v))
                        if isinstance(v, Parameter):
                            v.label = self._prefix + label
        return out

    def parameters(self) -> list[Value]:
        """Every parameter once, in the order of `named_parameters` (without building names)."""
        params = []
        for module in self.modules():
            for _, item in module._held(Value):
                if isinstance(item, Value):
                    params.append(item)
                else:
                    params.extend(item)
        return list(dict.fromkeys(params))  # Values hash by identity: a shared one is kept once

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    def apply(self: M, fn: Callable[[Module], object]) -> M:
        """fn(module) for every module inside, then for this one (as PyTorch); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def train(self: M, mode: bool = True) -> M:
        """Training mode (the default): Dropout drops, BatchNorm uses the batch's statistics."""
        mode = bool(mode)
        for module in self.modules():  # a flag needs no placing (Module.__setattr__)
            object.__setattr__(module, "training", mode)
        return self

    def eval(self: M) -> M:
        """Evaluation mode: Dropout and noise off, BatchNorm uses its running statistics."""
        return self.train(False)

    # --- state ---------------------------------------------------------------------------

    def _slots(self) -> dict:
        """{state_dict key: (module, attribute, is_parameter)}."""
        slots = {}
        for prefix, module in self.named_modules():
            for name, _ in module._held(Value):
                slots[_join(prefix, name)] = (module, name, True)
            for name in module._buffers:
                if getattr(module, name, None) is not None:
                    slots[_join(prefix, name)] = (module, name, False)
        return slots

    def state_dict(self) -> dict[str, Any]:
        """Every parameter tensor and buffer as plain numbers (floats and lists of floats)."""
        state: dict[str, Any] = {}
        for key, (module, name, _) in self._slots().items():
            item = getattr(module, name)
            if isinstance(item, Value):
                state[key] = item.data
            elif isinstance(item, (list, tuple)):
                state[key] = [data_of(v) for v in item]
            else:
                state[key] = item
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> LoadResult:
        """Copy numbers from `state` into the parameters and buffers, in place.

        Everything is checked first; on any missing (with ``strict``), unexpected or
        mis-shaped entry a ValueError lists them all and the module is left unchanged.
        """
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict takes a dict, got {type(state).__name__}")
        slots = self._slots()
        missing = [k for k in slots if k not in state]
        unexpected = [k for k in state if k not in slots]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(map(str, unexpected))}")
        current = self.state_dict()
        for key in slots:
            if key in state:
                problem = _shape_problem(current[key], state[key])
                if problem:
                    problems.append(f"{key}: {problem}")
        if problems:
            raise ValueError(
                f"load_state_dict for {type(self).__name__}: nothing was loaded, because\n  "
                + "\n  ".join(problems)
            )
        for key, (module, name, is_parameter) in slots.items():
            if key not in state:
                continue
            new = state[key]
            item = getattr(module, name)
            if is_parameter and isinstance(item, Value):
                item.data = float(new)
            elif is_parameter:
                for v, x in zip(item, new):
                    v.data = float(x)
            elif isinstance(current[key], list):
                setattr(module, name, [float(x) for x in new])
            else:
                setattr(module, name, type(current[key])(new))
        return LoadResult(missing, unexpected)

    # --- files ---------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this module's shape (for `load`)."""
        return {}

    @classmethod
    def from_config(cls: type[M], config: dict[str, Any]) -> M:
        return cls(**config)

    @classmethod
    def state_size(cls, config: dict[str, Any]) -> int | None:
        """How many numbers ``cls.from_config(config).state_dict()`` holds, found from the
        config alone, or None when the class cannot tell without being built.

        `load` compares it with the file's state_dict before building anything, so a file
        asking for enormous layers is refused instead of filling the memory.
        """
        return None

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write class, config and state_dict to a JSON file, atomically. Returns the path."""
        from .serialization import save_module

        return save_module(self, path)

    @classmethod
    def load(cls: type[M], path: str | os.PathLike[str]) -> M:
        """Rebuild a model saved with `save`: ``MLP.load("model.json")``."""
        from .serialization import load_module

        return load_module(cls, path)

    # --- PyTorch -------------------------------------------------------------------------

    def to_torch(self, dtype: Any = None) -> Any:
        """This model as a ``torch.nn.Module`` with the same weights (float64 by default),
        the same outputs and, after a backward, the same gradients; see `nn.interop`.
        Needs PyTorch (``pip install chainrule[torch]``), imported only here."""
        from .interop import to_torch

        return to_torch(self, dtype)

    # --- display -------------------------------------------------------------------------

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())

    def __repr__(self) -> str:
        children = self.named_children()
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


@contextlib.contextmanager
def training_mode(model: M, training: bool) -> Iterator[M]:
    """The block runs with `model` in training (True) or evaluation (False) mode; the mode
    it had before comes back after, even on an error."""
    was_training = model.training
    model.train(training)
    try:
        yield model
    finally:
        model.train(was_training)


def constructor_arguments(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    """The arguments ``cls(**config)`` would receive, defaults filled in; TypeError if the
    config does not fit the constructor."""
    bound = inspect.signature(cls).bind(**config)
    bound.apply_defaults()
    return bound.arguments


def _real(x) -> bool:
    """A finite real number that fits a float (an int of 400 digits does not)."""
    if not isinstance(x, (numbers.Real, np.floating, np.integer)) or isinstance(
        x, (bool, np.bool_)
    ):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


def _show(x) -> str:
    """repr(x), or a short description of an int too long to print."""
    if isinstance(x, int) and x.bit_length() > 256:
        try:
            digits = str(len(str(abs(x))))
        except ValueError:  # past sys.get_int_max_str_digits()
            digits = f"about {int(x.bit_length() * math.log10(2)) + 1}"
        return f"an integer of {digits} digits (too large for a float)"
    return repr(x)


def _shape_problem(expected, got):
    """Why `got` cannot replace `expected` (a number or a list of numbers), or None."""
    if isinstance(expected, list):
        if isinstance(got, np.ndarray):
            got = got.tolist()
        if not isinstance(got, (list, tuple)):
            return f"expected a list of {len(expected)} numbers, got {type(got).__name__}"
        if len(got) != len(expected):
            return f"expected {len(expected)} numbers, got {len(got)}"
        bad = [i for i, x in enumerate(got) if not _real(x)]
        if bad:
            return f"entry {bad[0]} is {_show(got[bad[0]])}, not a finite number"
        return None
    if not _real(got):
        return f"expected a finite number, got {_show(got)}"
    if isinstance(expected, int) and (float(got) != int(got) or got < 0):
        return f"expected a non-negative whole number, got {got!r}"
    return None
