"""How big the stepper's page is, how long it takes to build and to open in a browser.

    python benchmarks/stepper_page.py          # writes benchmarks/stepper_results.md

The workload is the issue's: an MLP 2-4-1 (tanh) on 2 examples with an MSE loss, about
100 Values and 200 frames; and the 2-16-16-1 network stepped layer by layer. Build time is
`Stepper(...).to_html()` (Graphviz's layout included); open time is from navigating
headless chromium to the file until the page's script has shown frame 0, then stepping
through every frame with the arrow key. Medians over repeated runs, on this shared machine.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))  # the DevTools driver the browser tests use

import nn  # noqa: E402
from nn.losses import mse_loss  # noqa: E402
from viz import Stepper  # noqa: E402

RUNS = 5


def small_mlp():
    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    loss = mse_loss([model(x) for x in ([0.5, -1.0], [1.5, 0.25])], [1.0, -1.0])
    loss.backward()
    return Stepper(loss, max_nodes=200)


def wide_mlp_by_layers():
    model = nn.MLP(2, [16, 16, 1], activation="tanh", seed=0)
    loss = mse_loss(model([0.5, -1.0]), 1.0)
    loss.backward()
    return Stepper(loss, model=model, collapse="layers")


def build_times(make):
    times, page = [], ""
    for _ in range(RUNS):
        start = time.perf_counter()
        stepper = make()
        page = stepper.to_html()
        times.append(time.perf_counter() - start)
    return statistics.median(times), page, len(stepper)


def open_times(path, steps):
    from browser import CHROMIUM, Browser

    if CHROMIUM is None:
        return None, None
    opened, walked = [], []
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(profile)
        try:
            for _ in range(RUNS):
                start = time.perf_counter()
                browser.open(path.as_uri())
                browser.wait_for("document.querySelector('.chainrule-stepper.js') && "
                                 "document.querySelector('.chainrule-stepper').dataset.step"
                                 " === '0'")
                opened.append(time.perf_counter() - start)
                start = time.perf_counter()
                for _ in range(steps - 1):
                    browser.key("ArrowRight", 39)
                browser.wait_for("document.querySelector('.chainrule-stepper').dataset.step"
                                 f" === '{steps - 1}'")
                walked.append((time.perf_counter() - start) / (steps - 1))
        finally:
            browser.close()
    return statistics.median(opened), statistics.median(walked)


def main():
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, make in [("MLP 2-4-1, 2 examples", small_mlp),
                            ("MLP 2-16-16-1, by layers", wide_mlp_by_layers)]:
            built, page, steps = build_times(make)
            path = Path(folder) / "page.html"
            path.write_text(page, encoding="utf-8")
            opened, per_step = open_times(path, steps)
            rows.append((label, steps, len(page.encode()) / 1e6, built, opened, per_step))
    lines = [
        "| workload | frames | page MB | build s | open s | s per step (key) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, steps, size, built, opened, per_step in rows:
        opened = f"{opened:.2f}" if opened is not None else "no chromium"
        per_step = f"{per_step * 1000:.0f} ms" if per_step is not None else "-"
        lines.append(f"| {label} | {steps} | {size:.3f} | {built:.2f} | {opened} | {per_step} |")
    table = "\n".join(lines)
    print(table)
    (HERE / "stepper_results.md").write_text(
        "# The stepper's page\n\nMedians of 5 runs (`python benchmarks/stepper_page.py`). "
        "Before the page drew the graph once, the 2-4-1 case was a 30 MB page that took "
        "about 15 s to build and 14 s to open.\n\n" + table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
