"""Plots: the numbers drawn are the function, its derivative, the history, the classifier."""

import math

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the viz extra (matplotlib) is not installed")

from autograd import Value  # noqa: E402
from viz import plots  # noqa: E402


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "softplus", "sin", "exp"])
def test_the_derivative_line_is_the_slope_of_the_function_line(name):
    fig = plots.plot_activation(name, x_range=(-3, 3), points=601)
    f_line, d_line = fig.axes[0].lines[:2]
    x, y = f_line.get_data()
    _, d = d_line.get_data()
    slope = np.gradient(y, x)  # central differences of the plotted function
    assert np.allclose(d[5:-5], slope[5:-5], atol=1e-3)
    reference = {"tanh": np.tanh, "sigmoid": lambda t: 1 / (1 + np.exp(-t)),
                 "softplus": lambda t: np.log1p(np.exp(t)), "sin": np.sin, "exp": np.exp}
    assert np.allclose(y, reference[name](x))


def test_relu_and_outside_the_domain():
    x, d = plots.plot_activation("relu", points=9).axes[0].lines[1].get_data()
    assert list(d) == [0, 0, 0, 0, 0, 1, 1, 1, 1]  # 0 at x=0, as the engine defines it
    x, y = plots.plot_activation("log", x_range=(-1, 1), points=5).axes[0].lines[0].get_data()
    assert np.isnan(y[:3]).all() and y[4] == pytest.approx(0.0)


def test_any_function_of_a_value_can_be_plotted():
    fig = plots.plot_activation(lambda v: v * v * v, x_range=(-2, 2), points=5)
    x, d = fig.axes[0].lines[1].get_data()
    assert np.allclose(d, 3 * x**2)
    with pytest.raises(ValueError, match="unknown activation"):
        plots.plot_activation("swish")


def test_history_curves_come_from_nn_history():
    history = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.7, 0.6],
               "accuracy": [0.5, 0.75, 1.0], "lr": [0.1, 0.1, 0.1]}
    fig = plots.plot_history(history)
    left, right = fig.axes
    assert {ln.get_label(): list(ln.get_ydata()) for ln in left.lines} == {
        "loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.7, 0.6]}
    assert [ln.get_label() for ln in right.lines] == ["accuracy"]
    assert list(plots.plot_history([3.0, 2.0]).axes[0].lines[0].get_ydata()) == [3.0, 2.0]
    with pytest.raises(ValueError, match="empty"):
        plots.plot_history([])


def test_the_decision_boundary_follows_the_model(tmp_path):
    def model(x):  # class 1 right of the line x1 = 0.2
        return Value(x[0]) - 0.2

    X = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    y = np.array([0, 1, 0])
    xx, yy, scores = plots.decision_grid(model, X, resolution=11, margin=0.0)
    assert np.allclose(scores, xx - 0.2)
    fig = plots.plot_decision_boundary(model, X, y, resolution=11)
    path = plots.save_figure(fig, tmp_path / "b.png")
    assert open(path, "rb").read(4) == b"\x89PNG"
    with pytest.raises(ValueError, match="2-D"):
        plots.decision_grid(model, np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf"):
        plots.save_figure(fig, tmp_path / "b.gif")


def test_several_outputs_pick_the_largest():
    def model(x):
        return [Value(-x[0]), Value(x[0]), Value(x[1])]

    X = np.array([[-1.0, -1.0], [1.0, 1.0]])
    xx, yy, scores = plots.decision_grid(model, X, resolution=5, margin=0.0)
    assert scores.shape == (5, 5, 3)
    fig = plots.plot_decision_boundary(model, X, [0, 2], resolution=5)
    assert fig.axes[0].get_title() == "decision boundary"


def test_trains_and_draws_an_nn_model():
    nn = pytest.importorskip("nn")
    X, y = nn.data.make_moons(40, noise=0.05, seed=0)
    model = nn.MLP(2, [8, 1], seed=0)
    history = nn.fit(model, X, 2 * y - 1, loss="hinge", epochs=3, quiet=True, seed=0)
    assert len(plots.plot_history(history).axes[0].lines[0].get_ydata()) == 3
    _, _, scores = plots.decision_grid(model, X, resolution=4)
    with_model = np.array([model([float(a), float(b)]).data for a, b in X[:2]])
    assert np.isfinite(scores).all() and np.isfinite(with_model).all()
    assert math.isfinite(plots.plot_decision_boundary(model, X, y, resolution=10)
                         .axes[0].get_xlim()[0])


@pytest.mark.parametrize("size", [(3.0, 2.2), (6.0, 4.0)])
@pytest.mark.parametrize("keys", [["loss"], ["loss", "val_loss", "accuracy", "val_accuracy"]])
def test_history_legend_clears_the_title_and_the_curves(size, keys):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot()
    plots.plot_history({k: [1.0, 0.5, 0.7, 0.2] for k in keys}, ax=ax)
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    title = ax.title.get_window_extent(renderer)
    plot = ax.get_window_extent(renderer)
    assert ax.get_title() == "training history"
    assert len(ax.get_legend().get_texts()) == len(keys)
    assert legend.y0 >= plot.y1  # above the curves
    assert title.y0 >= legend.y1  # and below the title
