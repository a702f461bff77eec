"""The plots people expect next to a graph, drawn with matplotlib (the `viz` extra).

    plot_activation("tanh")                  # a function and its derivative
    plot_history(history)                    # loss (and accuracy) per epoch, from nn.fit
    plot_decision_boundary(model, X, y)      # a 2-D classifier's regions and the data
    plot_loss_surface(f, paths={"SGD": pts}) # contours of f(x, y) and optimizer paths
    save_figure(fig, "boundary.png")

Each returns a matplotlib Figure (no pyplot state, so it works headless and in tests);
pass ``ax=`` to draw into an existing Axes instead. Colours are Okabe-Ito and every
series also differs by line style or marker, so the plots read in print.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from autograd import Value, grad, no_grad, ops
from autograd.files import write_atomic

from .render import image_format

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

BLUE, ORANGE, VERMILLION, GREEN, PURPLE = "#0072b2", "#e69f00", "#d55e00", "#009e73", "#cc79a7"
CLASS_STYLES = [(BLUE, "o"), (ORANGE, "s"), (GREEN, "^"), (PURPLE, "D"), (VERMILLION, "v")]
UNARY = sorted(ops.FUNCTIONS)


def _figure():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "viz plots need matplotlib: pip install 'chainrule[viz]' (or pip install matplotlib)"
        ) from None
    return Figure


def _axes(ax, size=(6.0, 4.0)):
    if ax is not None:
        return ax.figure, ax
    fig = _figure()(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _activation(fn):
    """(name, Value -> Value, formula text) for an op name or a function of one Value."""
    if callable(fn):
        return getattr(fn, "__name__", "f"), fn, None
    if fn not in UNARY:
        raise ValueError(f"unknown activation {fn!r}; use one of {', '.join(UNARY)} "
                         "or a function that takes and returns a Value")
    op = ops.FUNCTIONS[fn]
    method = abs if op is ops.ABS else getattr(Value, op.method)
    return fn, method, op.describe(0.01 if op.param_name else None)


def plot_activation(
    fn: str | Callable[[Value], Value] = "tanh", x_range: tuple[float, float] = (-4.0, 4.0),
    points: int = 401, ax: Axes | None = None,
) -> Figure:
    """`fn` and its derivative over `x_range`, both from the engine (the derivative by
    back-propagation). Points outside the function's domain are left out."""
    lo, hi = map(float, x_range)
    if not lo < hi or points < 2:
        raise ValueError(f"need x_range low < high and points >= 2, got {x_range}, {points}")
    name, f, formula = _activation(fn)
    xs = np.linspace(lo, hi, int(points))
    ys, ds = np.full_like(xs, np.nan), np.full_like(xs, np.nan)
    for i, x in enumerate(xs):
        v = Value(float(x))
        try:
            out = f(v)
            (ds[i],) = grad(out, [v])
            ys[i] = out.data
        except (ArithmeticError, ValueError):
            continue  # outside the domain (log of a negative number, say)
    fig, ax = _axes(ax)
    ax.plot(xs, ys, color=BLUE, linewidth=2, label=f"{name}(x)")
    ax.plot(xs, ds, color=VERMILLION, linewidth=2, linestyle="--", label=f"d/dx {name}(x)")
    ax.axhline(0, color="#999999", linewidth=0.8)
    ax.axvline(0, color="#999999", linewidth=0.8)
    ax.set_xlabel("x")
    ax.set_title(formula or f"{name} and its derivative")
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    return fig


def _series(history):
    if hasattr(history, "history") and isinstance(history.history, dict):
        history = history.history  # an nn.Trainer
    if isinstance(history, dict):
        return {k: list(map(float, v)) for k, v in history.items() if k != "lr" and len(v)}
    values = list(map(float, history))
    if not values:
        raise ValueError("the history is empty: train for at least one epoch first")
    return {"loss": values}


def plot_history(
    history: Mapping[str, Sequence[float]] | Any, ax: Axes | None = None, log_scale: bool = False
) -> Figure:
    """Loss curves per epoch from nn's training history (a dict of lists, a Trainer, or a
    plain list of losses); accuracies, when there, go on a second axis."""
    series = _series(history)
    losses = {k: v for k, v in series.items() if "loss" in k}
    scores = {k: v for k, v in series.items() if "loss" not in k}
    if not losses and not scores:
        raise ValueError(f"nothing to plot in the history; it has {sorted(series)}")
    fig, ax = _axes(ax)
    for key, values in losses.items():
        epochs = np.arange(1, len(values) + 1)
        val = key.startswith("val_")
        ax.plot(epochs, values, color=VERMILLION if val else BLUE,
                linestyle="--" if val else "-", linewidth=2, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if log_scale:
        ax.set_yscale("log")
    handles, labels = ax.get_legend_handles_labels()
    if scores:
        right = ax.twinx()
        for key, values in scores.items():
            val = key.startswith("val_")
            right.plot(np.arange(1, len(values) + 1), values, color=GREEN if not val else PURPLE,
                       linestyle=":" if not val else "-.", linewidth=2, label=key)
        right.set_ylabel(", ".join(scores))
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.grid(alpha=0.3)
    _legend_under_title(ax, handles, labels, "training history")
    return fig


def _legend_under_title(ax, handles, labels, title):
    """The legend in rows above the plot, the title lifted above it.

    Inside the plot, a history's legend covers the curves (and the second axis draws over
    it); in a small figure it is taller than the plot and runs into the title. Matplotlib
    places a title clear of the axes only, so the title's pad makes room for the legend.
    """
    from matplotlib.font_manager import FontProperties

    rows = -(-len(labels) // 3)  # at most three entries a row, the rows filled evenly
    columns = -(-len(labels) // rows)
    size = FontProperties(size="small").get_size_in_points()
    ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=columns,
              fontsize="small", frameon=False, borderpad=0.2, borderaxespad=0.2,
              columnspacing=1.0, handlelength=1.8)
    # Legend height in font sizes: rows of text, the spacing between them, its padding.
    height = rows * 1.2 + (rows - 1) * 0.5 + 2 * 0.2 + 0.2
    ax.set_title(title, pad=6.0 + height * size)


plot_loss = plot_history


def _score(model, point):
    out = model([float(point[0]), float(point[1])])
    if isinstance(out, (list, tuple)):
        return [o.data if isinstance(o, Value) else float(o) for o in out]
    return out.data if isinstance(out, Value) else float(out)


def decision_grid(
    model: Callable[[list[float]], Any], X: ArrayLike, resolution: int = 60, margin: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xx, yy, scores) of `model` over a grid around the 2-D points X, computed under
    no_grad; scores has one more axis when the model has several outputs."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must be points in 2-D, shape (n, 2); got shape {X.shape}")
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    with no_grad():
        scores = np.array([_score(model, p) for p in np.c_[xx.ravel(), yy.ravel()]])
    return xx, yy, scores.reshape(*xx.shape, *scores.shape[1:])


def plot_decision_boundary(
    model: Callable[[list[float]], Any], X: ArrayLike, y: ArrayLike, ax: Axes | None = None,
    resolution: int = 60, threshold: float = 0.0, margin: float = 0.5,
) -> Figure:
    """The regions a 2-D classifier assigns, with the data on top.

    One output: class 1 where the output is above `threshold` (0 for scores and ±1
    labels; use 0.5 for a sigmoid's probability). Several outputs: the largest wins.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y).ravel()
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} points but y has {len(y)} labels")
    from matplotlib.colors import ListedColormap

    xx, yy, scores = decision_grid(model, X, resolution, margin)
    fig, ax = _axes(ax, size=(5.5, 5.0))
    if scores.ndim == 3:
        regions = scores.argmax(axis=-1)
        levels: np.ndarray | list[float] = np.arange(scores.shape[-1] + 1) - 0.5
    else:
        regions = (scores > threshold).astype(int)
        levels = [-0.5, 0.5, 1.5]
        ax.contour(xx, yy, scores, levels=[threshold], colors="#333333", linewidths=1.5)
    tints = ListedColormap(["#cfe3f1", "#f8e2b8", "#c6e9dd", "#efd6e3", "#f4d0bb"])
    ax.contourf(xx, yy, regions, levels=levels, cmap=tints, vmin=-0.5, vmax=4.5)
    for k, label in enumerate(np.unique(y)):
        color, marker = CLASS_STYLES[k % len(CLASS_STYLES)]
        pts = X[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], c=color, marker=marker, edgecolors="black",
                   linewidths=0.5, s=28, label=f"class {label:g}")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.legend(loc="best")
    ax.set_title("decision boundary")
    return fig


def _range(r, name):
    try:
        lo, hi = (float(v) for v in r)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be two numbers (low, high), got {r!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} needs finite low < high, got {r!r}")
    return lo, hi


def surface_grid(
    fn: Callable[[Value, Value], Value], x_range: tuple[float, float] = (-2.0, 2.0),
    y_range: tuple[float, float] = (-2.0, 2.0), resolution: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xx, yy, zz): ``fn(x, y)`` over a grid, each call on two Values under no_grad.

    Points where `fn` is undefined (log of a negative number, say) or overflows are nan.
    """
    (x0, x1), (y0, y1) = _range(x_range, "x_range"), _range(y_range, "y_range")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be a whole number >= 2, got {resolution!r}")
    xx, yy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    zz = np.full(xx.shape, np.nan)
    with no_grad():
        for index in np.ndindex(xx.shape):
            try:
                out = fn(Value(float(xx[index])), Value(float(yy[index])))
            except (ArithmeticError, ValueError):
                continue
            zz[index] = out.data if isinstance(out, Value) else float(out)
    return xx, yy, zz


PATH_STYLES = [(BLUE, "-"), (VERMILLION, "--"), (GREEN, "-."), (PURPLE, ":"), (ORANGE, "-")]


def plot_loss_surface(
    fn: Callable[[Value, Value], Value], x_range: tuple[float, float] = (-2.0, 2.0),
    y_range: tuple[float, float] = (-2.0, 2.0),
    paths: Mapping[str, ArrayLike] | None = None, minimum: tuple[float, float] | None = None,
    levels: int = 20, log_scale: bool = False, resolution: int = 100, ax: Axes | None = None,
) -> Figure:
    """Contours of a loss of two parameters, ``fn(x, y)`` on Values, with optimizer paths.

    ``paths`` maps a label to the points an optimizer visited, a sequence of (x, y) pairs
    from start to end: each is drawn as a line, its start as a circle and its end as a
    cross. ``minimum`` (x, y) is marked with a star. ``log_scale`` spaces the contour
    levels geometrically, for surfaces as steep-walled as Rosenbrock's.
    """
    lines = {}
    for label, points in (paths or {}).items():
        points = np.asarray(points, dtype=float)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
            raise ValueError(f"path {label!r} must be a sequence of (x, y) points, got an "
                             f"array of shape {points.shape}")
        lines[str(label)] = points
    xx, yy, zz = surface_grid(fn, x_range, y_range, resolution)
    finite = zz[np.isfinite(zz)]
    if finite.size == 0:
        raise ValueError("fn is undefined everywhere on the grid; check x_range and y_range")
    if log_scale:
        positive = finite[finite > 0]
        if positive.size == 0:
            raise ValueError("log_scale needs a surface with positive values")
        lo, hi = positive.min(), positive.max()
        level_values: np.ndarray | int = np.geomspace(lo, hi if hi > lo else lo * 10, int(levels))
    else:
        level_values = int(levels)
    fig, ax = _axes(ax, size=(6.0, 4.5))
    ax.contour(xx, yy, zz, levels=level_values, cmap="Greys_r", linewidths=0.8)
    for k, (label, points) in enumerate(lines.items()):
        color, style = PATH_STYLES[k % len(PATH_STYLES)]
        ax.plot(points[:, 0], points[:, 1], color=color, linestyle=style, linewidth=1.8,
                label=label)
        ax.plot(*points[0], "o", color=color, markersize=5)
        ax.plot(*points[-1], "x", color=color, markersize=7, markeredgewidth=2)
    if minimum is not None:
        ax.plot(float(minimum[0]), float(minimum[1]), "*", color="black", markersize=12,
                label="minimum")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if lines or minimum is not None:
        ax.legend(loc="best")
    ax.set_title("loss surface")
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 120) -> str:
    """Write a figure to .png, .svg or .pdf (by suffix) atomically; returns the path."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=image_format(path), dpi=dpi)
    return write_atomic(path, buffer.getvalue())


__all__ = ["plot_activation", "plot_history", "plot_loss", "plot_decision_boundary",
           "decision_grid", "plot_loss_surface", "surface_grid", "save_figure", "UNARY"]
