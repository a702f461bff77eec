"""The visual demo: a neuron's graph forward and backward, its step-by-step walk, and a
trained classifier's decision boundary, written into one folder.

    python -m viz.demo [--out out]

Runs nn's demo first (the engine tour, then micrograd's two-moons classifier trained on the
batched tape), whose model and history are then plotted here.
"""

from __future__ import annotations

import argparse
import os

from autograd import Value
from autograd.demo import micrograd_neuron

from .render import render


def _nn_demo():
    """Run nn's demo (the engine tour, then training on two moons); returns its result."""
    from nn import demo

    result = demo.main([])
    print()
    return result


def neuron() -> tuple[Value, tuple[Value, Value, Value]]:
    """micrograd's neuron, o = tanh(x1·w1 + x2·w2 + b), back-propagated: (o, its weights)."""
    o, leaves = micrograd_neuron()
    o.backward()
    return o, (leaves["w1"], leaves["w2"], leaves["b"])


def main(out_dir: str = "out") -> list[str]:
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
    X, y = result["data"]
    paths = [plots.save_figure(plots.plot_decision_boundary(result["model"], X, y),
                               os.path.join(out_dir, "decision_boundary.png"))]
    paths.append(plots.save_figure(plots.plot_history(result["history"]),
                                   os.path.join(out_dir, "training_history.png")))
    return paths


def _cli(argv=None):
    parser = argparse.ArgumentParser(prog="python -m viz.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="out", help="folder for the pictures (default: out)")
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    _cli()
