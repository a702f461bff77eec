"""The visual demo: a neuron's graph forward and backward, its step-by-step walk, and a
trained classifier's decision boundary, written into one folder.

    python -m viz.demo [--out out]

Runs nn's demo first when there is one (it trains micrograd's two-moons classifier, whose
model and history are then plotted here).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os

from autograd import Value

from .render import render


def _nn_demo():
    """nn.demo.main()'s result (model, history, ...) if nn has a demo, else None."""
    if importlib.util.find_spec("nn") is None or importlib.util.find_spec("nn.demo") is None:
        return None
    demo = importlib.import_module("nn.demo")
    result = demo.main([]) if callable(getattr(demo, "main", None)) else None
    print()
    return result if isinstance(result, dict) else None


def neuron():
    """micrograd's neuron: o = tanh(x1·w1 + x2·w2 + b), back-propagated."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.881373587019543, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1·w1"
    x2w2 = x2 * w2
    x2w2.label = "x2·w2"
    n = x1w1 + x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o, (w1, w2, b)


def _moons_model():
    """A small classifier trained here when nn has no demo to borrow one from."""
    import nn

    X, y = nn.data.make_moons(100, noise=0.1, seed=0)
    model = nn.MLP(2, [8, 8, 1], activation="relu", seed=0)
    history = nn.fit(model, X, 2 * y - 1, loss="hinge", epochs=60, quiet=True, seed=0,
                     optimizer=nn.optim.Adam(model.parameters(), lr=0.05))
    return {"model": model, "history": history, "data": (X, y)}


def main(out_dir="out") -> list:
    """Write the pictures into `out_dir`, print their paths, and return them."""
    result = _nn_demo()
    os.makedirs(out_dir, exist_ok=True)
    print(f"Drawing the graph of a neuron, o = tanh(x1·w1 + x2·w2 + b), into {out_dir}/ ...")
    o, params = neuron()
    written = [
        render(o, os.path.join(out_dir, "neuron_forward.svg"), mode="forward", params=params),
        render(o, os.path.join(out_dir, "neuron_backward.svg"), mode="backward", params=params),
    ]
    from .stepper import Stepper

    walk = Stepper(o, params=params)
    written.append(walk.to_html(os.path.join(out_dir, "neuron_stepper.html"),
                                title="A neuron, forward then backward, one node a step"))
    written += _plots(result, out_dir)
    for path in written:
        print(f"  {path}")
    return written


def _plots(result, out_dir):
    try:
        from . import plots
        plots._figure()
    except ImportError as error:
        print(f"note: no decision-boundary picture: {error}")
        return []
    if importlib.util.find_spec("nn") is None:
        print("note: no decision-boundary picture: the nn package is not installed")
        return []
    import nn

    if result is None or "model" not in result:
        result = _moons_model()
    X, y = result.get("data") or nn.data.make_moons(150, noise=0.1, seed=0)
    paths = [plots.save_figure(plots.plot_decision_boundary(result["model"], X, y),
                               os.path.join(out_dir, "decision_boundary.png"))]
    if result.get("history"):
        paths.append(plots.save_figure(plots.plot_history(result["history"]),
                                       os.path.join(out_dir, "training_history.png")))
    return paths


def _cli(argv=None):
    parser = argparse.ArgumentParser(prog="python -m viz.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="out", help="folder for the pictures (default: out)")
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    _cli()
