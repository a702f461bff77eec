"""Neurons, layers and multi-layer perceptrons, as in micrograd, named as in PyTorch.

A model is called on one example (a list of numbers or Values, one per input) or on a
batch (a list of examples, or a 2-D numpy array); a batch gives one output per example.

    model = MLP(2, [16, 16, 1], activation="relu", seed=0)
    model([0.5, -1.2])              # one Value
    model([[0.5, -1.2], [1, 0]])    # a list of two Values
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal, cast

from autograd import Parameter, Value
from autograd.nested import Nested, for_each_example, is_batch, map_nested

from . import functional as F
from ._checks import positive_int
from .init import INITIALIZERS, Init, Seed, as_rng
from .module import MODULES, Module, class_key, constructor_arguments, input_values

__all__ = ["Neuron", "Layer", "MLP", "Sequential", "Activation"]


def _layer_shapes(nin, sizes) -> list:
    """(nin, nout) of each layer of ``MLP(nin, sizes)``, checked."""
    nin = positive_int(nin, "nin")
    if isinstance(sizes, int) or not sizes:
        raise ValueError(f"sizes must be a non-empty list of layer widths, got {sizes!r}")
    dims = [nin, *(positive_int(s, "every layer size") for s in sizes)]
    return list(zip(dims, dims[1:]))


def _parameter_count(nin, nout, bias) -> int:
    """How many parameters `nout` neurons with `nin` inputs each have."""
    return positive_int(nout, "nout") * (positive_int(nin, "nin") + bool(bias))


def _default_init(activation):
    return "he_uniform" if activation in ("relu", "leaky_relu") else "xavier_uniform"


def _initialize(weight, init, activation, rng):
    """Fill a weight matrix (rows = neurons) by name or with a callable ``init(weight)``."""
    init = _default_init(activation) if init is None else init
    if callable(init):
        init(weight)
    elif init in INITIALIZERS:
        INITIALIZERS[init](weight, rng)
    else:
        raise ValueError(
            f"unknown init {init!r}; use one of {', '.join(INITIALIZERS)} or a function "
            "that fills a weight matrix in place (see nn.init)"
        )


class Neuron(Module):
    """activation(w · x + b) for one example: ``nin`` weights and a bias (zero at first).

    ``init`` names an initialization from `nn.init` (default: He for relu/leaky_relu,
    Xavier otherwise) or is a function that fills the weights in place.
    """

    def __init__(self, nin: int, activation: str = "relu", *, bias: bool = True,
                 init: Init | None | Literal[False] = None, seed: Seed = None,
                 negative_slope: float = 0.01) -> None:
        self.nin = nin = positive_int(nin, "nin")
        self._act = F.activation(activation, negative_slope)
        self.activation = activation
        self.negative_slope = negative_slope
        self.weight = [Parameter(0.0) for _ in range(nin)]  # labelled weight[0], ... by Module
        self.bias: Parameter | None = Parameter(0.0) if bias else None
        if init is not False:  # a Layer initializes all its neurons' weights at once
            _initialize([self.weight], init, activation, as_rng(seed))

    @property
    def w(self) -> list[Parameter]:
        """micrograd's name for `weight`."""
        return self.weight

    @property
    def b(self) -> Parameter | None:
        return self.bias

    def _output(self, x):
        z = self.bias
        for wi, xi in zip(self.weight, x):
            z = wi * xi if z is None else z + wi * xi
        return self._act(z) if self._act is not None else z

    def forward(self, x: Nested) -> Nested:
        return for_each_example(x, lambda e: self._output(input_values(e, self.nin, "Neuron")))

    def config(self) -> dict[str, Any]:
        return {"nin": self.nin, "activation": self.activation, "bias": self.bias is not None,
                "negative_slope": self.negative_slope}

    @classmethod
    def state_size(cls, config: dict[str, Any]) -> int:
        args = constructor_arguments(cls, config)
        return _parameter_count(args["nin"], 1, args["bias"])

    def extra_repr(self) -> str:
        return f"{self.nin}, activation={self.activation!r}"


class Layer(Module):
    """``nout`` neurons that all see the same ``nin`` inputs; gives a list of nout Values."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", *, bias: bool = True,
                 init: Init | None = None, seed: Seed = None,
                 negative_slope: float = 0.01) -> None:
        self.nin = nin = positive_int(nin, "nin")
        self.nout = nout = positive_int(nout, "nout")
        self.neurons = [
            Neuron(nin, activation, bias=bias, init=False, negative_slope=negative_slope)
            for _ in range(nout)
        ]
        _initialize(self.weight, init, activation, as_rng(seed))

    @property
    def weight(self) -> list[list[Parameter]]:
        """The weight matrix, one row per neuron: shape (nout, nin) as in torch.nn.Linear."""
        return [n.weight for n in self.neurons]

    @property
    def bias(self) -> list[Parameter] | None:
        if self.neurons[0].bias is None:
            return None
        return cast("list[Parameter]", [n.bias for n in self.neurons])  # all have one

    def _output(self, x):
        x = input_values(x, self.nin, "Layer")  # once: every neuron reads the same Values
        return [n._output(x) for n in self.neurons]

    def forward(self, x: Nested) -> Nested:
        return for_each_example(x, self._output)

    def config(self) -> dict[str, Any]:
        first = self.neurons[0]
        return {"nin": self.nin, "nout": self.nout, "activation": first.activation,
                "bias": first.bias is not None, "negative_slope": first.negative_slope}

    @classmethod
    def state_size(cls, config: dict[str, Any]) -> int:
        args = constructor_arguments(cls, config)
        return _parameter_count(args["nin"], args["nout"], args["bias"])

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.neurons[0].activation!r})"


def _squeeze(outputs, batch):
    """One Value instead of a list of one, per example."""
    if batch:
        return [o[0] if len(o) == 1 else o for o in outputs]
    return outputs[0] if len(outputs) == 1 else outputs


class MLP(Module):
    """Layers of neurons, ``nin -> sizes[0] -> ... -> sizes[-1]``; the last layer is linear.

    ``MLP(2, [16, 16, 1])`` is micrograd's two-moons classifier. The hidden layers use
    ``activation`` (relu, leaky_relu, sigmoid, tanh or linear). One example gives one Value
    when the last layer has one neuron, else a list; a batch gives one of those per example.
    """

    def __init__(self, nin: int, sizes: list[int], activation: str = "relu", *,
                 init: Init | None = None, seed: Seed = None, bias: bool = True,
                 negative_slope: float = 0.01) -> None:
        shapes = _layer_shapes(nin, sizes)
        F.activation(activation, negative_slope)  # fail early on a bad name
        rng = as_rng(seed)
        self.layers = [
            Layer(a, b, activation if i < len(shapes) - 1 else "linear",
                  bias=bias, init=init, seed=rng, negative_slope=negative_slope)
            for i, (a, b) in enumerate(shapes)
        ]
        self._activation = activation

    def forward(self, x: Nested) -> Nested:
        batch = is_batch(x)
        for layer in self.layers:
            x = layer(x)
        return _squeeze(x, batch)

    def config(self) -> dict[str, Any]:
        first = self.layers[0]
        return {"nin": first.nin, "sizes": [layer.nout for layer in self.layers],
                "activation": self._activation, "bias": first.bias is not None,
                "negative_slope": first.neurons[0].negative_slope}

    @classmethod
    def state_size(cls, config: dict[str, Any]) -> int:
        args = constructor_arguments(cls, config)
        shapes = _layer_shapes(args["nin"], args["sizes"])
        return sum(_parameter_count(a, b, args["bias"]) for a, b in shapes)


class Activation(Module):
    """An activation as a module, for `Sequential`: ``Activation("tanh")``."""

    def __init__(self, name: str = "relu", negative_slope: float = 0.01) -> None:
        fn = F.activation(name, negative_slope)
        self._fn: Callable[[Value], Value] = fn if fn is not None else (lambda v: v)
        self.name = name
        self.negative_slope = negative_slope

    def forward(self, x: Nested) -> Nested:
        fn = self._fn
        return map_nested(lambda v: fn(v if isinstance(v, Value) else Value(v)), x)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "negative_slope": self.negative_slope}

    @classmethod
    def state_size(cls, config: dict[str, Any]) -> int:
        return 0  # no parameters or buffers, whatever the config


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Layer(2, 8, "linear"), BatchNorm(8),
    Activation("relu"), Dropout(0.1), Layer(8, 1, "linear"))``."""

    def __init__(self, *modules: Module | list[Module] | tuple[Module, ...]) -> None:
        items: tuple[Any, ...] = modules
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            items = tuple(modules[0])
        for i, m in enumerate(items):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: item {i} is a {type(m).__name__}, not a Module")
        self.layers: list[Module] = list(items)

    def forward(self, x: Nested) -> Nested:
        for module in self.layers:
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def config(self) -> dict[str, Any]:
        return {"modules": [{"class": class_key(type(m)), "config": m.config()}
                            for m in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        return cls(*(target.from_config(c) for target, c in _parts(config)))

    @classmethod
    def state_size(cls, config: dict[str, Any]) -> int | None:
        sizes = [target.state_size(c) for target, c in _parts(config)]
        return None if None in sizes else sum(sizes)


def _parts(config) -> list:
    """(class, config) of each module in a Sequential's config."""
    if not isinstance(config, dict):
        raise ValueError(f"a Sequential's config is a dict with a 'modules' list, got {config!r}")
    parts = []
    for item in config.get("modules", ()):
        target = MODULES.get(item.get("class", "")) if isinstance(item, dict) else None
        if target is None:
            raise ValueError(f"unknown module in Sequential: {item!r}")
        parts.append((target, item.get("config", {})))
    return parts
