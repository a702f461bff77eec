"""PyTorch interop: take a model to ``torch.nn`` when it outgrows scalars, and bring one back.

    tmodel = model.to_torch()          # a torch.nn.Sequential, float64, same weights
    model = nn.from_torch(tmodel)      # an nn.MLP or nn.Sequential, same weights

A chainrule model becomes one flat ``torch.nn.Sequential``: a `Layer` (or a `Neuron`)
becomes a ``Linear`` followed by its activation's module (``ReLU``, ``LeakyReLU``,
``Sigmoid``, ``Tanh``; none when linear), `BatchNorm` a ``BatchNorm1d``, `LayerNorm` a
``LayerNorm``, `Dropout` a ``Dropout``, `Activation` its activation's module; an `MLP` or a
`Sequential` is the concatenation of its parts. The torch model computes the same numbers
(to rounding, in float64), takes a batch as a 2-D tensor and gives shape (batch, width), and
is in the same train/eval mode. Dropout masks come from each framework's own generator.

State_dict names map both ways (`state_dict_names`): a neuron's weights are one row of a
``Linear``'s weight matrix (``layers.0.neurons.3.weight`` is row 3 of ``0.weight``, and
``layers.0.neurons.3.bias`` entry 3 of ``0.bias``); BatchNorm's and LayerNorm's names are
the same on both sides after the module's position. Every entry of a supported model has a
counterpart; `load_torch_state_dict` names the torch entries that have none (and the
chainrule ones left without a value). Modules with no torch counterpart (`GaussianNoise`,
your own Module subclasses) are refused with an error naming them.

PyTorch is optional (``pip install chainrule[torch]``) and imported only by these functions.
"""

from __future__ import annotations

from collections import namedtuple

from .layers import MLP, Activation, Layer, Neuron, Sequential
from .module import LoadResult, Module
from .normalization import BatchNorm, LayerNorm
from .regularization import Dropout

__all__ = [
    "to_torch", "from_torch", "state_dict_names", "torch_state_dict", "load_torch_state_dict",
    "NameMap",
]

NameMap = namedtuple("NameMap", ["to_torch", "from_torch"])
NameMap.__doc__ = """State_dict names both ways.

``to_torch``: {chainrule key: torch key}, a row or entry of a torch tensor written with its
index in brackets (``"0.weight[3]"``). ``from_torch``: {torch key: [chainrule keys]}, in
row order."""


def _torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError(
            "PyTorch is not installed, and the PyTorch interop (model.to_torch(), "
            "nn.from_torch) needs it. Install it with: pip install 'chainrule[torch]' "
            "(or pip install torch)"
        ) from e
    return torch


# --- chainrule -> torch ---------------------------------------------------------------------

# A piece is one torch module of the flat Sequential: (factory(torch) -> module, [(chainrule
# key, torch name inside the module, row or None)]).


def _activation_piece(name, negative_slope):
    makers = {
        "relu": lambda t: t.nn.ReLU(),
        "leaky_relu": lambda t: t.nn.LeakyReLU(negative_slope),
        "sigmoid": lambda t: t.nn.Sigmoid(),
        "tanh": lambda t: t.nn.Tanh(),
    }
    if name == "linear":
        return []
    return [(makers[name], [])]


def _pieces(module, prefix=""):
    """The torch modules that `module` (at path `prefix`, with a final ".") becomes."""
    if isinstance(module, (MLP, Sequential)):
        out = []
        for i, child in enumerate(module.layers):
            out.extend(_pieces(child, f"{prefix}layers.{i}."))
        return out
    if isinstance(module, (Layer, Neuron)):
        neurons = module.neurons if isinstance(module, Layer) else [module]
        keys = ([f"{prefix}neurons.{j}." for j in range(len(neurons))]
                if isinstance(module, Layer) else [prefix])
        bias = neurons[0].bias is not None
        pairs = []
        for j, k in enumerate(keys):
            pairs.append((f"{k}weight", "weight", j))
            if bias:
                pairs.append((f"{k}bias", "bias", j))
        nin, nout = module.nin, len(neurons)
        linear = (lambda t: t.nn.Linear(nin, nout, bias=bias), pairs)
        first = neurons[0]
        return [linear, *_activation_piece(first.activation, first.negative_slope)]
    if isinstance(module, Activation):
        return _activation_piece(module.name, module.negative_slope)
    if isinstance(module, Dropout):
        p = module.p
        return [(lambda t: t.nn.Dropout(p), [])]
    if isinstance(module, BatchNorm):
        names = [n for n in ("weight", "bias", "running_mean", "running_var",
                             "num_batches_tracked") if getattr(module, n) is not None]
        m = module
        return [(lambda t: t.nn.BatchNorm1d(
            m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
            track_running_stats=m.track_running_stats),
            [(prefix + n, n, None) for n in names])]
    if isinstance(module, LayerNorm):
        names = [n for n in ("weight", "bias") if getattr(module, n) is not None]
        m = module
        return [(lambda t: t.nn.LayerNorm(
            m.normalized_shape, eps=m.eps, elementwise_affine=m.weight is not None,
            bias=m.bias is not None),
            [(prefix + n, n, None) for n in names])]
    where = f" at {prefix[:-1]!r}" if prefix else ""
    raise TypeError(
        f"to_torch: {type(module).__name__}{where} has no PyTorch counterpart here; supported "
        "are MLP, Sequential, Layer, Neuron, Activation, BatchNorm, LayerNorm and Dropout"
    )


def _pairs(model):
    """[(chainrule key, torch key, row or None)] for the flat torch Sequential of `model`."""
    return [(ck, f"{i}.{tn}", row)
            for i, (_, pairs) in enumerate(_pieces(model)) for ck, tn, row in pairs]


def state_dict_names(model: Module) -> NameMap:
    """How `model.state_dict()`'s names map to ``model.to_torch().state_dict()``'s and back."""
    forward: dict[str, str] = {}
    backward: dict[str, list[str]] = {}
    for ck, tk, row in _pairs(model):
        forward[ck] = tk if row is None else f"{tk}[{row}]"
        backward.setdefault(tk, []).append(ck)
    return NameMap(forward, backward)


def torch_state_dict(model: Module, dtype=None) -> dict:
    """`model`'s state as the state_dict of ``model.to_torch()`` (tensors, float64 by default)."""
    torch = _torch()
    dtype = torch.float64 if dtype is None else dtype
    return _torch_state(model, _build(model, torch, dtype), torch, dtype)


def _build(model, torch, dtype):
    seq = torch.nn.Sequential(*(make(torch) for make, _ in _pieces(model)))
    return seq.to(dtype)


def _torch_state(model, seq, torch, dtype):
    state = {k: v.detach().clone() for k, v in seq.state_dict().items()}
    ours = model.state_dict()
    for ck, tk, row in _pairs(model):
        value = ours[ck]
        target = state[tk]
        if row is None:
            state[tk] = torch.as_tensor(value, dtype=target.dtype)
        else:
            target[row] = torch.as_tensor(value, dtype=target.dtype)
    return state


def to_torch(model: Module, dtype=None):
    """A ``torch.nn.Sequential`` computing what `model` computes, with the same weights.

    float64 unless `dtype` says otherwise; in `model`'s train/eval mode. See the module's
    docstring for what each chainrule module becomes.
    """
    torch = _torch()
    dtype = torch.float64 if dtype is None else dtype
    seq = _build(model, torch, dtype)
    seq.load_state_dict(_torch_state(model, seq, torch, dtype))
    return seq.train(model.training)


# --- torch -> chainrule ---------------------------------------------------------------------


def load_torch_state_dict(model: Module, state: dict, strict: bool = True) -> LoadResult:
    """Copy a torch state_dict (of ``model.to_torch()``'s shape) into `model`, in place.

    Returns ``LoadResult(missing_keys, unexpected_keys)``: the chainrule keys that got no
    value and the torch keys that map to nothing. With ``strict`` either raises a ValueError
    naming them, and nothing is loaded.
    """
    pairs = _pairs(model)
    mapped = {tk for _, tk, _ in pairs}
    unexpected = [k for k in state if k not in mapped]
    ours, missing = {}, []
    for ck, tk, row in pairs:
        if tk not in state:
            missing.append(ck)
            continue
        tensor = state[tk]
        item = tensor[row] if row is not None else tensor
        ours[ck] = item.tolist() if hasattr(item, "tolist") else item
    if strict and (missing or unexpected):
        reasons = []
        if missing:
            names = state_dict_names(model).to_torch
            reasons.append("these chainrule entries have no torch value: " + ", ".join(
                f"{ck} (from {names[ck]})" for ck in missing))
        if unexpected:
            reasons.append(f"these torch entries map to nothing in {type(model).__name__}: "
                           + ", ".join(unexpected))
        raise ValueError("load_torch_state_dict: nothing was loaded, because "
                         + "; ".join(reasons))
    model.load_state_dict(ours, strict=strict)
    return LoadResult(missing, unexpected)


_ACTIVATIONS = {"ReLU": "relu", "LeakyReLU": "leaky_relu", "Sigmoid": "sigmoid",
                "Tanh": "tanh", "Identity": "linear"}


def _activation_of(torch, m):
    """(name, negative_slope) if `m` is a supported activation module, else None."""
    name = _ACTIVATIONS.get(type(m).__name__)
    if name is None or not isinstance(m, torch.nn.Module) or type(m).__module__.split(".")[0] \
            != "torch":
        return None
    return name, float(getattr(m, "negative_slope", 0.01))


def _chainrule_parts(torch, children):
    parts, i = [], 0
    while i < len(children):
        m = children[i]
        if isinstance(m, torch.nn.Linear):
            act = _activation_of(torch, children[i + 1]) if i + 1 < len(children) else None
            name, slope = act if act else ("linear", 0.01)
            parts.append(Layer(m.in_features, m.out_features, name, bias=m.bias is not None,
                               negative_slope=slope))
            i += 2 if act else 1
            continue
        act = _activation_of(torch, m)
        if act:
            parts.append(Activation(*act))
        elif isinstance(m, torch.nn.BatchNorm1d):
            parts.append(BatchNorm(m.num_features, eps=m.eps, momentum=m.momentum,
                                   affine=m.affine, track_running_stats=m.track_running_stats))
        elif isinstance(m, torch.nn.LayerNorm):
            if len(m.normalized_shape) != 1:
                raise TypeError(
                    f"from_torch: LayerNorm over shape {tuple(m.normalized_shape)} at index {i}; "
                    "chainrule's LayerNorm normalizes one axis of features")
            parts.append(LayerNorm(m.normalized_shape[0], eps=m.eps,
                                   elementwise_affine=m.elementwise_affine,
                                   bias=getattr(m, "bias", None) is not None))
        elif isinstance(m, torch.nn.Dropout):
            parts.append(Dropout(m.p))
        else:
            raise TypeError(
                f"from_torch: {type(m).__name__} at index {i} has no chainrule counterpart; "
                "supported are Linear, ReLU, LeakyReLU, Sigmoid, Tanh, Identity, BatchNorm1d, "
                "LayerNorm (one axis) and Dropout, in a torch.nn.Sequential"
            )
        i += 1
    return parts


def _as_mlp(parts):
    """An MLP equal to `parts` when they are Layers with one hidden activation and a linear
    last layer (what ``MLP.to_torch()`` gives), else None."""
    if not parts or not all(type(p) is Layer for p in parts):
        return None
    firsts = [p.neurons[0] for p in parts]
    hidden = {(n.activation, n.negative_slope) for n in firsts[:-1]}
    biases = {n.bias is not None for n in firsts}
    if firsts[-1].activation != "linear" or len(hidden) > 1 or len(biases) > 1:
        return None
    activation, slope = hidden.pop() if hidden else ("relu", 0.01)
    if any(a.nout != b.nin for a, b in zip(parts, parts[1:])):
        return None
    return MLP(parts[0].nin, [p.nout for p in parts], activation, bias=biases.pop(),
               negative_slope=slope)


def from_torch(module) -> Module:
    """A chainrule model with `module`'s structure, weights, buffers and train/eval mode.

    `module` is a ``torch.nn.Sequential`` of the modules listed in `nn.interop` (or one of
    them alone). A ``Linear`` followed by an activation becomes one `Layer` with that
    activation; Linear layers with one hidden activation and a linear last layer become an
    `MLP`; anything else a `Sequential`. Unsupported modules raise a TypeError naming them.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch takes a torch.nn.Module, got {type(module).__name__}")
    flat = isinstance(module, torch.nn.Sequential)
    children = list(module) if flat else [module]
    for i, child in enumerate(children):
        if isinstance(child, torch.nn.Sequential):
            raise TypeError(f"from_torch: a Sequential inside a Sequential (index {i}); "
                            "flatten it first: torch.nn.Sequential(*a, *b)")
    parts = _chainrule_parts(torch, children)
    model = _as_mlp(parts) or Sequential(*parts)
    state = module.state_dict() if flat else {f"0.{k}": v for k, v in module.state_dict().items()}
    load_torch_state_dict(model, {k: v.detach().double().cpu() if v.is_floating_point() else v
                                  for k, v in state.items()})
    return model.train(module.training)
