"""The stepper in Jupyter: previous / play / next, a slider, the caption and the graph.

Needs ipywidgets (the `viz` extra). The graph is laid out once; each frame is that one SVG
with the frame's texts and classes applied (`viz.frames`), the same states the HTML page
replays. When the graph is wider or taller than the view, the view is a window centred on
the current node, so it never steps off-screen; "whole graph" shows all of it, scaled.
Where widgets cannot run (a static notebook page), use `Stepper.to_html()` instead.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from .frames import apply_state, element_boxes, with_style
from .html_export import inline_svg

if TYPE_CHECKING:
    from .stepper import Stepper

VIEW = (960, 420)  # points: the window onto a big graph


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError:
        raise ImportError(
            "the Jupyter stepper needs ipywidgets: pip install 'chainrule[viz]' (or pip install "
            "ipywidgets); without it, Stepper.to_html('walk.html') gives the same walk as a page"
        ) from None
    return ipywidgets


def framed(svg_text: str, box: tuple[float, float, float, float] | None, whole: bool) -> str:
    """The SVG through a VIEW-sized window centred on `box` (shown at most at full size, and
    narrower when the output area is), or, if `whole` or when the drawing fits, all of it."""
    found = re.search(r'viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"', svg_text)
    if found is None:
        raise ValueError("framed() needs an SVG with a viewBox, as Graphviz writes it")
    x, y, w, h = (float(v) for v in found.groups())
    if whole or (w <= VIEW[0] and h <= VIEW[1]) or box is None:
        size = 'width="100%"' if w > VIEW[0] else f'width="{w:g}pt"'
        return _resize(svg_text, f"{x:g} {y:g} {w:g} {h:g}", size)
    vw, vh = min(w, VIEW[0]), min(h, VIEW[1])
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    left = min(max(cx - vw / 2, x), x + w - vw)
    top = min(max(cy - vh / 2, y), y + h - vh)
    # as wide as the output area, whatever its width: the whole window stays in view
    return _resize(svg_text, f"{left:g} {top:g} {vw:g} {vh:g}",
                   f'width="100%" style="max-width:{vw * 4 / 3:g}px"')


def _resize(svg_text, view_box, size):
    svg_text = re.sub(r'\s(width|height)="[^"]*"', "", svg_text, count=2)
    svg_text = re.sub(r'viewBox="[^"]*"', f'viewBox="{view_box}"', svg_text, count=1)
    return svg_text.replace("<svg", f"<svg {size}", 1)


def stepper_widget(stepper: Stepper, interval: int = 900) -> Any:
    """A VBox of controls for `stepper` (a viz.Stepper); `interval` is ms per step in play.

    With collapsed modules, an "open" menu drills into one (`Stepper.drill`) and "back"
    returns to the walk before it.
    """
    w = _ipywidgets()
    box = w.VBox()
    _fill(box, stepper, [], interval, w)
    return box


def _fill(box, stepper, outer, interval, w):
    """Put the controls of `stepper` into `box`; `outer` holds the walks drilled out of."""
    n = len(stepper)
    base = stepper._base_svg
    boxes = element_boxes(base)
    slider = w.IntSlider(value=0, min=0, max=n - 1, description="step",
                         continuous_update=True, readout=False)
    play = w.Play(value=0, min=0, max=n - 1, interval=interval, description="play")
    w.jslink((play, "value"), (slider, "value"))
    prev = w.Button(description="◀ previous", tooltip="previous step (the left arrow key "
                    "also works once the slider has the focus)")
    nxt = w.Button(description="next ▶", tooltip="next step")
    whole = w.ToggleButton(value=False, description="whole graph",
                           tooltip="show the whole graph, scaled to fit")
    count = w.Label()
    caption = w.HTML()
    picture = w.HTML()

    def show(_=None):
        i = slider.value
        frame = with_style(apply_state(base, stepper.state(i)))
        focus = boxes.get(stepper.focus(i))
        count.value = f"{i + 1} / {n}"
        caption.value = f"<code>{html.escape(stepper.steps[i].caption)}</code>"
        picture.value = inline_svg(framed(frame, focus, whole.value))

    def move(by):
        slider.value = max(0, min(n - 1, slider.value + by))

    slider.observe(show, names="value")
    whole.observe(show, names="value")
    prev.on_click(lambda _: move(-1))
    nxt.on_click(lambda _: move(1))
    show()
    bar = [prev, play, nxt, slider, count, whole]
    if stepper.modules() or outer:
        bar.append(_drill_controls(box, stepper, outer, interval, w))
    box.children = [w.HBox(bar), caption, picture]
    box.stepper = stepper  # for code that wants to read it back


def _drill_controls(box, stepper, outer, interval, w):
    choose = w.Dropdown(options=[("open a module…", "")] + [(p, p) for p in stepper.modules()],
                        value="", description="", layout=w.Layout(width="14em"))
    back = w.Button(description="back", tooltip="back to the walk before opening",
                    disabled=not outer, layout=w.Layout(width="5em"))

    def open_module(change):
        if change["new"]:
            _fill(box, stepper.drill(change["new"]), [*outer, stepper], interval, w)

    def back_out(_):
        _fill(box, outer[-1], outer[:-1], interval, w)

    choose.observe(open_module, names="value")
    back.on_click(back_out)
    return w.HBox([choose, back])
