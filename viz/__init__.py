"""See the graph: draw a Value's computation forward and backward, step through it, render it.

    from viz import draw_dot, render, Stepper
    draw_dot(loss, mode="backward")           # a graphviz.Digraph
    render(loss, "graph.svg", mode="both")    # .svg .png .pdf by suffix
    Stepper(loss).to_html("walk.html")        # the forward and backward pass, one node a step
    with record_calls(model) as t: loss = ...  # draw_dot(loss, model=t): a cluster per module

Needs only autograd and graphviz; plots need matplotlib and the Jupyter controls
ipywidgets (`pip install 'chainrule[viz]'`), both imported only when used.
"""

from typing import TYPE_CHECKING, Any

import autograd._conflict  # noqa: F401  first: HIPS autograd may own autograd/__init__.py
from autograd import __version__ as __version__

from .dot import MODES, Graph, draw_dot
from .modules import ModuleCalls, record_calls
from .render import RenderUnavailable, render, svg
from .stepper import Step, Stepper

_LAZY = {  # imported on first use, so viz imports without matplotlib or ipywidgets
    "plot_activation": "plots", "plot_history": "plots", "plot_loss": "plots",
    "plot_decision_boundary": "plots", "plot_loss_surface": "plots", "save_figure": "plots",
    "stepper_widget": "widgets",
}

__all__ = [
    "draw_dot", "render", "svg", "Stepper", "Step", "record_calls", "ModuleCalls", "Graph", "MODES",
    "RenderUnavailable", *_LAZY,
]


if TYPE_CHECKING:  # what __getattr__ imports on first use, for type checkers
    from .plots import plot_activation as plot_activation
    from .plots import plot_decision_boundary as plot_decision_boundary
    from .plots import plot_history as plot_history
    from .plots import plot_loss as plot_loss
    from .plots import plot_loss_surface as plot_loss_surface
    from .plots import save_figure as save_figure
    from .widgets import stepper_widget as stepper_widget


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'viz' has no attribute {name!r}")
