"""See the graph: draw a Value's computation forward and backward, step through it, render it.

    from viz import draw_dot, render, Stepper
    draw_dot(loss, mode="backward")           # a graphviz.Digraph
    render(loss, "graph.svg", mode="both")    # .svg .png .pdf by suffix
    Stepper(loss).to_html("walk.html")        # the forward and backward pass, one node a step

Needs only autograd and graphviz; plots need matplotlib and the Jupyter controls
ipywidgets (`pip install 'chainrule[viz]'`), both imported only when used.
"""

from .dot import MODES, Graph, draw_dot
from .modules import Trace, trace
from .render import RenderUnavailable, render, svg
from .stepper import Step, Stepper

__all__ = [
    "draw_dot", "render", "svg", "Stepper", "Step", "trace", "Trace", "Graph", "MODES",
    "RenderUnavailable",
]
