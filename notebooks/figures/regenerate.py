"""Redraw the README's pictures of the visualizer into this folder.

    python notebooks/figures/regenerate.py

The neuron forward and backward, a stepper frame half-way through the backward pass, and
screenshots of the stepper page on a desktop and on a phone-sized screen (those need
Debian's chromium; the browser tests' DevTools driver takes them).
"""

from __future__ import annotations

import base64
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from viz import Stepper, render  # noqa: E402
from viz.demo import neuron  # noqa: E402


def main():
    o, params = neuron()
    render(o, HERE / "neuron_forward.svg", mode="forward", params=params)
    render(o, HERE / "neuron_backward.svg", mode="backward", params=params)
    walk = Stepper(o, params=params)
    middle = len(walk.order) + 3  # backward, the step of x1·w1 + x2·w2
    (HERE / "stepper_frame.svg").write_text(walk.svg(middle), encoding="utf-8")
    screenshots(walk, middle)


def screenshots(walk, step):
    from browser import CHROMIUM, Browser

    if CHROMIUM is None:
        print("chromium is not installed: no screenshots")
        return
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "walk.html"
        walk.to_html(page, title="A neuron, forward then backward, one node a step")
        for name, size in (("stepper_desktop.png", (1400, 760)), ("stepper_phone.png", (390, 844))):
            browser = Browser(Path(folder) / name)
            try:
                browser.open(page.as_uri(), size=size, mobile=size[0] < 500)
                browser.js("var r=document.querySelector('.slider'); r.value=" + str(step)
                           + "; r.dispatchEvent(new Event('input'))")
                shot = browser.send("Page.captureScreenshot")["data"]
                (HERE / name).write_bytes(base64.b64decode(shot))
            finally:
                browser.close()


if __name__ == "__main__":
    main()
