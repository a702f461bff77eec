"""The stepper widget in a real JupyterLab, driven by headless chromium (slow: starts a server).

A notebook makes the widget of a graph far wider than the output area; the test runs it,
clicks the widget's buttons and checks that the caption follows and that the current node
is always inside the output area, as the learner sees it.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest
from browser import CHROMIUM, Browser

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed"),
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed"),
    pytest.mark.skipif(os.name != "posix", reason="the DevTools pipe needs POSIX file descriptors"),
]
pytest.importorskip("jupyterlab", reason="the test extra (jupyterlab) is not installed")
pytest.importorskip("ipywidgets")

NOTEBOOK = {
    "cells": [{
        "cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
        "source": (
            "from autograd import Value\n"
            "from viz import Stepper\n"
            "x = Value(0.5, label='x')\n"
            "y = x\n"
            "for _ in range(12):\n"
            "    y = (y * 1.1).tanh()\n"
            "box = Stepper(y).widget()\n"
            "box"
        ),
    }],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}

CURRENT_IN_VIEW = """(function(){
  var out = document.querySelector('.jp-OutputArea-output');
  var g = out && out.querySelector('g.node.current');
  if (!g) return null;
  var r = g.getBoundingClientRect(), v = out.getBoundingClientRect();
  return [r.left - v.left, v.right - r.right, r.top - v.top, v.bottom - r.bottom,
          window.innerWidth - r.right];
})()"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    (tmp_path / "walk.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    port, token = free_port(), "chainrule-test"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={tmp_path}", "--LabApp.expose_app_in_browser=True",
         "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("JupyterLab did not start")
                time.sleep(0.5)
        yield f"{base}/lab/tree/walk.ipynb?token={token}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def click_button(browser, text):
    found = browser.js(
        "(function(){var b=Array.prototype.find.call(document.querySelectorAll("
        "'.jp-OutputArea-output button'), function(b){"
        f"return b.textContent.trim()==={json.dumps(text)};}});"
        "if(!b) return false; b.id='chainrule-target'; return true;})()")
    assert found, f"no button {text!r}"
    browser.click("#chainrule-target")
    browser.js("document.getElementById('chainrule-target').removeAttribute('id')")


def caption(browser):
    return browser.js("(function(){var c=document.querySelector('.jp-OutputArea-output code');"
                      "return c ? c.textContent : null;})()")


def test_the_widget_steps_and_keeps_the_current_node_in_view(lab):
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(profile)
        try:
            browser.open(lab, size=(1400, 900))
            browser.wait_for("window.jupyterapp && document.querySelector('.jp-Notebook')", 90)
            browser.wait_for("window.jupyterapp.shell.currentWidget && "
                             "window.jupyterapp.shell.currentWidget.sessionContext && "
                             "window.jupyterapp.shell.currentWidget.sessionContext.session",
                             90)
            time.sleep(1)
            browser.js("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            browser.wait_for("document.querySelector('.jp-OutputArea-output g.node.current')", 120)
            assert caption(browser).startswith("forward 1/")
            values = 1 + 12 * 3  # x, then per round: the constant 1.1, the product, tanh
            expected = [f"forward {k}/{values}" for k in range(2, values + 1)]
            expected += [f"backward {k}/{values}" for k in range(1, 4)]
            for clicks, text in enumerate(expected, start=1):
                click_button(browser, "next ▶")
                browser.wait_for("(document.querySelector('.jp-OutputArea-output code')||{})"
                                 f".textContent.indexOf({json.dumps(text)}) === 0", 30)
                if clicks % 9 == 0 or clicks == len(expected):
                    margins = browser.js(CURRENT_IN_VIEW)
                    assert margins is not None and min(margins) >= 0, (clicks, margins)
            click_button(browser, "◀ previous")
            browser.wait_for("(document.querySelector('.jp-OutputArea-output code')||{})"
                             f".textContent.indexOf('backward 2/{values}') === 0", 30)
            assert min(browser.js(CURRENT_IN_VIEW)) >= 0
        finally:
            browser.close()
