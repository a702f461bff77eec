"""Checks of constructor arguments shared across nn, so one kind of mistake gets one message."""

from __future__ import annotations

import numbers


def positive_int(value: object, what: str) -> int:
    """`value` as an int when it is a whole number >= 1 (numpy integers too, bools not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive whole number, got {value!r}")
    return int(value)
