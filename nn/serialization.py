"""Saving and loading models as JSON: written atomically, read without running any code.

A model file holds the class name, the constructor config and the state_dict. Loading
looks the class up among known Module classes (never imports or evaluates anything named
in the file), rebuilds it and loads the state, so a truncated, foreign or tampered file
raises ValueError instead of producing a half-loaded model. Never pickle: loading a pickle
runs code.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

from autograd.files import read_json, write_atomic, write_json_atomic

if TYPE_CHECKING:
    from .module import M, Module

FORMAT = "chainrule.module"
VERSION = 1

__all__ = ["save_module", "load_module", "read_json", "write_atomic", "write_json_atomic"]


def _count_numbers(state: dict) -> int:
    """How many numbers a state_dict holds: one per number, one per item of a list."""
    return sum(len(v) if isinstance(v, list) else 1 for v in state.values())


def _check_finite(module, state, path) -> None:
    """A ValueError naming the first parameter or buffer that is inf or nan (JSON has no
    such numbers), raised before any file is touched."""
    slots = module._slots()
    for key, value in state.items():
        items = enumerate(value) if isinstance(value, list) else [(None, value)]
        for i, x in items:
            if isinstance(x, float) and not math.isfinite(x):
                name = key if i is None else f"{key}.{i}"
                kind = "parameter" if slots.get(key, (None, None, False))[2] else "buffer"
                raise ValueError(
                    f"cannot save {os.fspath(path)}: {kind} {name!r} is {x!r}; JSON holds "
                    "finite numbers only, so nothing was written (did training diverge?)"
                )


def save_module(module: Module, path: str | os.PathLike[str]) -> str:
    from .module import class_key

    state = module.state_dict()
    _check_finite(module, state, path)
    return write_json_atomic(path, {
        "format": FORMAT,
        "version": VERSION,
        "class": class_key(type(module)),
        "config": module.config(),
        "state_dict": state,
    })


def load_module(cls: type[M], path: str | os.PathLike[str]) -> M:
    """Rebuild the model saved in `path`; it must be a `cls` (or a subclass of it)."""
    from .module import MODULES

    document = read_json(path, "chainrule model file")
    if document.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a chainrule model file (format is {document.get('format')!r})"
        )
    version = document.get("version")
    if type(version) is not int or version != VERSION:  # not true, not 1.0: exactly 1
        raise ValueError(
            f"{path}: model file version {version!r} is not supported "
            f"(this chainrule reads version {VERSION})"
        )
    name, config, state = (document.get(k) for k in ("class", "config", "state_dict"))
    if not isinstance(config, dict) or not isinstance(state, dict):
        raise ValueError(f"{path}: the model file lacks its config or state_dict")
    target = MODULES.get(name) if isinstance(name, str) else None
    if target is None:
        raise ValueError(
            f"{path}: unknown model class {name!r} (define or import it before loading)"
        )
    if not issubclass(target, cls):
        raise ValueError(
            f"{path} holds a {target.__name__}, not a {cls.__name__}; "
            f"load it with {target.__name__}.load"
        )
    try:
        size = target.state_size(config)  # from the config alone: nothing is built yet
        stored = _count_numbers(state)
        if size is not None and size != stored:
            damage = "missing keys" if size > stored else "unexpected keys"
            raise ValueError(
                f"it describes {size} numbers (parameters and buffers) but the state_dict "
                f"holds {stored}: the file has {damage} or a damaged config"
            )
        model = target.from_config(config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: cannot rebuild {name} from its config: {error}") from None
    try:
        model.load_state_dict(state)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return model
