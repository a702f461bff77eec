"""The stepper's HTML page in a real browser: Debian's chromium, headless.

Chromium is driven over the DevTools protocol through --remote-debugging-pipe (file
descriptors 3 and 4, NUL-separated JSON), so no extra package is needed. The clicks and
key presses are real input events at the buttons' positions.
"""

import json
import os
import select
import shutil
import subprocess
import tempfile
import time

import pytest

from autograd import Value
from viz import Stepper

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed"),
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed"),
    pytest.mark.skipif(os.name != "posix", reason="the DevTools pipe needs POSIX file descriptors"),
]
FLAGS = [
    "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
    "--remote-debugging-pipe",
]


class Browser:
    def __init__(self, profile):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        flags = FLAGS + [f"--user-data-dir={profile}"]
        if os.geteuid() == 0:
            flags.append("--no-sandbox")  # chromium refuses to run as root with its sandbox
        self.proc = subprocess.Popen(
            [CHROMIUM, *flags, "about:blank"], pass_fds=(3, 4), preexec_fn=wire,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer, self._id, self.session = b"", 0, None

    def send(self, method, session=True, timeout=30, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                    raise TimeoutError(f"chromium did not answer {method}")
                chunk = os.read(self._from_chrome, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def open(self, url):
        target = self.send("Target.createTarget", session=False, url=url)["targetId"]
        self.session = self.send("Target.attachToTarget", session=False, targetId=target,
                                 flatten=True)["sessionId"]
        # the new tab starts on about:blank, which is 'complete' at once: wait for our page
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    def js(self, expression):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, condition, timeout=15):
        deadline = time.monotonic() + timeout
        while not self.js(f"!!({condition})"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"page never met: {condition}")
            time.sleep(0.05)

    def click(self, selector):
        box = self.js(
            f"(function(){{var r=document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect();return [r.x+r.width/2, r.y+r.height/2];})()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                      button="left", clickCount=1)

    def key(self, key, keycode):
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=key,
                      windowsVirtualKeyCode=keycode)

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


@pytest.fixture
def browser():
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(profile)
        try:
            yield b
        finally:
            b.close()


VISIBLE = (
    "Array.prototype.filter.call(document.querySelectorAll('.frame'), "
    "function(f){return getComputedStyle(f).display !== 'none';})"
    ".map(function(f){return +f.dataset.index;})"
)
CURRENT_SVG = "document.querySelector('.frame.on svg').outerHTML"
CAPTION = "document.querySelector('.frame.on .caption').textContent"


def test_the_page_steps_forward_and_back_in_chromium(tmp_path, browser):
    x, w, b = Value(1.5, label="x"), Value(-0.5, label="w"), Value(0.2, label="b")
    y = (x * w + b).tanh()
    s = Stepper(y)
    path = s.to_html(tmp_path / "walk.html")
    browser.open("file://" + os.path.abspath(path))

    assert browser.js(VISIBLE) == [0]  # the script hid every frame but the first
    assert browser.js(CAPTION) == s.steps[0].caption
    assert browser.js("document.querySelector('.count').textContent") == f"1 / {len(s)}"
    first_svg = browser.js(CURRENT_SVG)

    browser.click(".next")
    assert browser.js(VISIBLE) == [1]
    assert browser.js(CAPTION) == s.steps[1].caption
    assert browser.js(CURRENT_SVG) != first_svg
    assert browser.js("document.querySelector('.count').textContent") == f"2 / {len(s)}"

    browser.click(".chainrule-stepper .caption")  # focus the stepper for the arrow keys
    browser.js("document.querySelector('.chainrule-stepper').focus()")
    browser.key("ArrowRight", 39)
    assert browser.js(VISIBLE) == [2]
    browser.click(".prev")
    browser.click(".prev")
    browser.click(".prev")  # stops at the first frame
    assert browser.js(VISIBLE) == [0]

    browser.js("var r=document.querySelector('.slider'); r.value=" + str(len(s) - 1)
               + "; r.dispatchEvent(new Event('input'))")
    assert browser.js(VISIBLE) == [len(s) - 1]
    assert browser.js(CAPTION) == s.steps[-1].caption
    browser.click(".next")  # stops at the last frame
    assert browser.js(VISIBLE) == [len(s) - 1]

    browser.click(".prev")
    browser.click(".play")  # plays to the end by itself
    browser.wait_for(f"document.querySelector('.frame.on').dataset.index == {len(s) - 1}")
    assert browser.js(VISIBLE) == [len(s) - 1]
