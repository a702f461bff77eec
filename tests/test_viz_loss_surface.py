"""Loss surfaces of two parameters: the grid is the function, the paths are what was given."""

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the viz extra (matplotlib) is not installed")

import viz  # noqa: E402
from viz import plots  # noqa: E402


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def test_the_grid_holds_the_function_computed_by_the_engine():
    xx, yy, zz = plots.surface_grid(rosenbrock, (-2, 2), (-1, 3), resolution=7)
    assert xx.shape == yy.shape == zz.shape == (7, 7)
    assert xx[0, 0] == -2 and xx[0, -1] == 2 and yy[0, 0] == -1 and yy[-1, 0] == 3
    assert np.allclose(zz, (1 - xx) ** 2 + 100 * (yy - xx**2) ** 2, rtol=1e-12)


def test_no_graph_is_built_and_plain_numbers_are_accepted():
    seen = []

    def f(x, y):
        out = x * y
        seen.append(out)
        return out

    plots.surface_grid(f, resolution=3)
    assert seen and all(v.parents == () for v in seen)  # under no_grad: leaves
    _, _, zz = plots.surface_grid(lambda x, y: 2.5, resolution=2)
    assert (zz == 2.5).all()


def test_undefined_and_overflowing_points_are_nan():
    _, _, zz = plots.surface_grid(lambda x, y: (x + y).log(), (-1, 1), (0, 0.5), resolution=5)
    xx, yy, _ = plots.surface_grid(lambda x, y: x, (-1, 1), (0, 0.5), resolution=5)
    defined = xx + yy > 0
    assert np.isnan(zz[~defined]).all()
    assert np.allclose(zz[defined], np.log((xx + yy)[defined]))
    _, _, zz = plots.surface_grid(lambda x, y: (x * 1e200) * (y * 1e200), (1, 2), (1, 2), 3)
    assert np.isnan(zz).all()


def test_paths_are_drawn_as_given_with_start_end_and_minimum():
    sgd = [(-1.5, 2.0), (-1.0, 1.0), (0.5, 0.2), (0.9, 0.8)]
    adam = np.array([[-1.0, -0.5], [1.0, 1.0]])
    fig = viz.plot_loss_surface(rosenbrock, (-2, 2), (-1, 3), paths={"SGD": sgd, "Adam": adam},
                                minimum=(1, 1), log_scale=True, resolution=20)
    ax = fig.axes[0]
    drawn = {ln.get_label(): np.column_stack(ln.get_data()) for ln in ax.lines
             if not ln.get_label().startswith("_")}
    assert set(drawn) == {"SGD", "Adam", "minimum"}
    assert np.array_equal(drawn["SGD"], np.array(sgd))
    assert np.array_equal(drawn["Adam"], adam)
    assert np.array_equal(drawn["minimum"], [[1.0, 1.0]])
    markers = {(ln.get_marker(), tuple(np.ravel(ln.get_data()))) for ln in ax.lines}
    assert ("o", (-1.5, 2.0)) in markers and ("x", (0.9, 0.8)) in markers
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SGD", "Adam", "minimum"]
    levels = ax.collections[0].levels if ax.collections else None
    assert levels is not None and len(levels) > 2
    ratios = np.asarray(levels[1:]) / np.asarray(levels[:-1])
    assert np.allclose(ratios, ratios[0])  # geometric spacing on a log scale


def test_bad_input_says_what_was_wrong():
    with pytest.raises(ValueError, match="x_range needs finite low < high"):
        plots.surface_grid(rosenbrock, (1, -1))
    with pytest.raises(ValueError, match="y_range must be two numbers"):
        plots.surface_grid(rosenbrock, (0, 1), "ab")
    with pytest.raises(ValueError, match="resolution"):
        plots.surface_grid(rosenbrock, resolution=1)
    with pytest.raises(ValueError, match="path 'SGD' must be a sequence of \\(x, y\\) points"):
        plots.plot_loss_surface(rosenbrock, paths={"SGD": [1.0, 2.0, 3.0]}, resolution=3)
    with pytest.raises(ValueError, match="log_scale needs a surface with positive values"):
        plots.plot_loss_surface(lambda x, y: -abs(x) - 1, log_scale=True, resolution=3)
    with pytest.raises(ValueError, match="undefined everywhere"):
        plots.plot_loss_surface(lambda x, y: (x - 10).log(), resolution=3)


def test_draws_into_a_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    left, right = fig.subplots(1, 2)
    out = plots.plot_loss_surface(lambda x, y: x * x + y * y, ax=right, resolution=5,
                                  paths={"GD": [(1, 1), (0, 0)]})
    assert out is fig and not left.lines and right.lines
