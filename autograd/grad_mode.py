"""Whether ops record the graph: on by default, off inside `no_grad`, per thread."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _GradMode(threading.local):
    def __init__(self) -> None:
        self.enabled = True
        self.saved: list[bool] = []  # the modes to restore as this thread leaves its `with` blocks


_mode = _GradMode()


class _ThreadsOff:
    """How many threads have recording off. Reading a thread-local costs 70 ns, a fifth of
    an op, so ops read this shared count first and the thread's own mode only when some
    thread has turned recording off (`value._off_the_plain_path`)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


_threads_off = _ThreadsOff()
_lock = threading.Lock()


def _set(enabled: bool) -> bool:
    """Set this thread's mode; returns the mode it had."""
    previous = _mode.enabled
    if previous != enabled:
        with _lock:
            _threads_off.count += 1 if previous else -1
        _mode.enabled = enabled
    return previous


def is_grad_enabled() -> bool:
    return _mode.enabled


class _GradModeGuard:
    """Sets the mode inside a ``with`` block, or inside every call of a decorated function."""

    mode = True

    def __enter__(self) -> _GradModeGuard:
        # saved per thread, not on self: one guard object may be entered by many threads
        _mode.saved.append(_set(self.mode))
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _set(_mode.saved.pop())
        return False

    def __call__(self, fn: F) -> F:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            previous = _set(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(previous)

        return wrapper  # type: ignore[return-value]  # same signature, by functools.wraps


class no_grad(_GradModeGuard):
    """Inside ``with no_grad():`` ops build no graph: their results are leaves.

    Also usable as a decorator (``@no_grad()``). The flag is per thread, as in PyTorch.
    """

    mode = False


class enable_grad(_GradModeGuard):
    """Turn recording back on inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradModeGuard):
    """``with set_grad_enabled(flag):`` records the graph only when ``flag`` is true."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
