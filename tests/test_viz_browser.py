"""The stepper's HTML page in a real browser: Debian's chromium, headless (tests/browser.py).

On a desktop window and on a phone-sized one: the arrow keys work as soon as the page
opens, the buttons and slider step, the current node stays inside the view at every frame
tried, zoom works, and the page reports no error.
"""

import json
import os
import shutil
import tempfile

import pytest
from browser import CHROMIUM, Browser

from autograd import Value
from viz import Stepper

pytestmark = [
    pytest.mark.slow,  # a headless chromium per test
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed"),
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed"),
    pytest.mark.skipif(os.name != "posix", reason="the DevTools pipe needs POSIX file descriptors"),
]

SIZES = {"desktop": (1400, 900), "phone": (390, 844)}
STEP = "+document.querySelector('.chainrule-stepper').dataset.step"
CAPTION = "document.querySelector('.chainrule-stepper .caption').textContent"
# Where the current node's box lies relative to the view: [left, top, right, bottom] margins
INSIDE = """(function(){
  var root = document.querySelector('.chainrule-stepper');
  var data = JSON.parse(root.querySelector('script.frames').textContent);
  var g = document.getElementById(data.prefix + data.focus[+root.dataset.step]);
  var r = g.getBoundingClientRect(), v = root.querySelector('.view').getBoundingClientRect();
  return [r.left - v.left, r.top - v.top, v.right - r.right, v.bottom - r.bottom];
})()"""


@pytest.fixture
def browser():
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(profile)
        try:
            yield b
        finally:
            b.close()


def neuron():
    x, w, b = Value(1.5, label="x"), Value(-0.5, label="w"), Value(0.2, label="b")
    return (x * w + b).tanh()


def small_mlp_loss():
    import nn
    from nn.losses import mse_loss

    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    loss = mse_loss([model(x) for x in ([0.5, -1.0], [1.5, 0.25])], [1.0, -1.0])
    loss.backward()
    return loss


def go_to(browser, k):
    browser.js("var r=document.querySelector('.slider'); r.value=" + str(k)
               + "; r.dispatchEvent(new Event('input'))")


def test_the_page_steps_with_keys_buttons_slider_and_play(tmp_path, browser):
    s = Stepper(neuron())
    path = s.to_html(tmp_path / "walk.html")
    browser.open("file://" + os.path.abspath(path))
    assert browser.js(STEP) == 0 and browser.js(CAPTION) == s.steps[0].caption
    assert browser.js("document.querySelector('.count').textContent") == f"1 / {len(s)}"

    browser.key("ArrowRight", 39)  # no click first: the keys work on load
    assert browser.js(STEP) == 1 and browser.js(CAPTION) == s.steps[1].caption
    browser.click(".next")
    assert browser.js(STEP) == 2
    for _ in range(4):
        browser.click(".prev")  # stops at the first frame
    assert browser.js(STEP) == 0
    browser.key("End", 35)
    assert browser.js(STEP) == len(s) - 1 and browser.js(CAPTION) == s.steps[-1].caption
    browser.click(".next")  # stops at the last frame
    assert browser.js(STEP) == len(s) - 1
    browser.key("Home", 36)
    browser.click(".play")  # plays to the end by itself
    browser.wait_for(f"{STEP} == {len(s) - 1}")
    assert browser.errors() == []


def test_a_frame_shows_its_own_texts_and_marks(tmp_path, browser):
    s = Stepper(neuron())
    browser.open("file://" + os.path.abspath(s.to_html(tmp_path / "walk.html")))
    prefix = browser.js("JSON.parse(document.querySelector('script.frames').textContent).prefix")
    for k in (0, 3, len(s.order), len(s) - 1):
        go_to(browser, k)
        for element, (cls, rows) in s.state(k).items():
            shown = browser.js(
                f"(function(){{var g=document.getElementById({json.dumps(prefix + element)});"
                "return [Array.prototype.filter.call(g.classList, function(c){"
                "return ['current','passed','active'].indexOf(c) >= 0;}).join(' '),"
                "Array.prototype.map.call(g.querySelectorAll('text'), function(t){"
                "return [t.textContent, t.getAttribute('class')];})];})()")
            assert shown[0] == cls, (k, element)
            assert [tuple(r) for r in shown[1][: len(rows)]] == list(rows), (k, element)


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_current_node_stays_in_view(tmp_path, browser, size):
    s = Stepper(small_mlp_loss(), max_nodes=200)
    browser.open("file://" + os.path.abspath(s.to_html(tmp_path / "mlp.html")),
                 size=SIZES[size], mobile=size == "phone")
    width = browser.js("document.querySelector('.view').clientWidth")
    assert width <= SIZES[size][0]  # no page wider than the screen
    for k in (0, len(s) // 3, len(s) // 2, len(s) - 1):
        go_to(browser, k)
        assert browser.js(STEP) == k
        margins = browser.js(INSIDE)
        assert min(margins) >= 0, (size, k, margins)
    # the stepper starts readable: on the phone it is zoomed in, not the whole graph shrunk
    go_to(browser, 0)
    font = browser.js("(function(){var t=document.querySelector('.view svg text');"
                      "return t.getBoundingClientRect().height;})()")
    assert font >= 7, font
    before = browser.js("document.querySelector('.view svg').getAttribute('viewBox')")
    browser.click(".zoom-in")
    after = browser.js("document.querySelector('.view svg').getAttribute('viewBox')")
    assert float(after.split()[2]) < float(before.split()[2])  # a narrower window: zoomed in
    browser.click(".fit")
    whole = browser.js("document.querySelector('.view svg').getAttribute('viewBox')")
    full = browser.js("document.querySelector('.view svg').getBBox().width")
    assert float(whole.split()[2]) >= full
    assert browser.errors() == []
