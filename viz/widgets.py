"""The stepper in Jupyter: previous / play / next, a slider, the caption and the graph.

Needs ipywidgets (the `viz` extra). Frames are rendered when first shown and kept.
Where widgets cannot run (a static notebook page), use `Stepper.to_html()` instead.
"""

from __future__ import annotations

import html

from .html_export import inline_svg


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError:
        raise ImportError(
            "the Jupyter stepper needs ipywidgets: pip install 'chainrule[viz]' (or pip install "
            "ipywidgets); without it, Stepper.to_html('walk.html') gives the same walk as a page"
        ) from None
    return ipywidgets


def stepper_widget(stepper, interval=900):
    """A VBox of controls for `stepper` (a viz.Stepper); `interval` is ms per step in play."""
    w = _ipywidgets()
    n = len(stepper)
    frames = {}
    slider = w.IntSlider(value=0, min=0, max=n - 1, description="step",
                         continuous_update=True, readout=False)
    play = w.Play(value=0, min=0, max=n - 1, interval=interval, description="play")
    w.jslink((play, "value"), (slider, "value"))
    prev = w.Button(description="◀ previous", tooltip="previous step")
    nxt = w.Button(description="next ▶", tooltip="next step")
    count = w.Label()
    caption = w.HTML()
    picture = w.HTML()

    def show(_=None):
        i = slider.value
        if i not in frames:
            frames[i] = inline_svg(stepper.svg(i))
        count.value = f"{i + 1} / {n}"
        caption.value = f"<code>{html.escape(stepper.steps[i].caption)}</code>"
        picture.value = frames[i]

    def move(by):
        slider.value = max(0, min(n - 1, slider.value + by))

    slider.observe(show, names="value")
    prev.on_click(lambda _: move(-1))
    nxt.on_click(lambda _: move(1))
    show()
    box = w.VBox([w.HBox([prev, play, nxt, slider, count]), caption, picture])
    box.stepper = stepper  # for code that wants to read it back
    return box
