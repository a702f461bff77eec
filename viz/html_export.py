"""A Stepper's walk as one self-contained HTML page: one SVG, and each frame as a change to it.

No network and no library. The graph is laid out once; a frame is a small set of text and
class changes (`Stepper.frames()`), replayed by a short script: previous / play / next
buttons, a slider, the arrow keys (Home and End too), zoom and pan (wheel, drag, pinch, the
+ − and fit buttons), and the current node kept in view. Where scripts do not run (static
notebook viewers) the first frame and every caption still show.
"""

from __future__ import annotations

import html
import json
import os
import re
import uuid
from typing import TYPE_CHECKING

from autograd.files import write_atomic

from .frames import STYLE, apply_state

if TYPE_CHECKING:
    from .stepper import Stepper

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)

_PAGE_STYLE = """
.chainrule-stepper{font-family:Helvetica,Arial,sans-serif;color:#111;max-width:100%;outline:none}
.chainrule-stepper .bar{display:none;flex-wrap:wrap;gap:.35em;align-items:center;margin:.3em 0}
.chainrule-stepper.js .bar{display:flex}
.chainrule-stepper .bar button{font-size:1em;min-width:2.4em;min-height:2.2em}
.chainrule-stepper .bar input{flex:1 1 8em;min-width:6em;max-width:30em}
.chainrule-stepper .caption{font-family:Menlo,Consolas,monospace;font-size:.9em;margin:.3em 0;
  min-height:2.6em;overflow-wrap:anywhere}
.chainrule-stepper .view{border:1px solid #ccc;border-radius:4px;overflow:hidden;
  touch-action:none;cursor:grab;background:#fff}
.chainrule-stepper.js .view svg{display:block;width:100%;height:100%}
.chainrule-stepper:not(.js) .view{overflow:auto}
.chainrule-stepper.js .all{display:none}
.chainrule-stepper .all{font-family:Menlo,Consolas,monospace;font-size:.85em}
"""

# Runs once per stepper; `root` is this stepper's own element, so several can share a page.
_SCRIPT = r"""
(function(root, wholePage){
  var data = JSON.parse(root.querySelector('script.frames').textContent);
  var frames = data.frames, n = frames.length, prefix = data.prefix;
  var view = root.querySelector('.view'), svg = view.querySelector('svg');
  var slider = root.querySelector('.slider'), count = root.querySelector('.count');
  var caption = root.querySelector('.caption'), play = root.querySelector('.play');
  var at = 0, timer = null, shown = {}, cache = {};
  var STATES = ['current', 'passed', 'active'];

  function element(id) {
    if (!(id in cache)) {
      var g = document.getElementById(prefix + id);
      cache[id] = g ? {g: g, texts: g.querySelectorAll('text')} : null;
    }
    return cache[id];
  }
  function paint(id, state) {
    var e = element(id);
    if (!e) return;
    for (var c = 0; c < STATES.length; c++) e.g.classList.toggle(STATES[c], STATES[c] === state[0]);
    var rows = state[1];
    for (var r = 0; r < rows.length && r < e.texts.length; r++) {
      e.texts[r].textContent = rows[r][0];
      e.texts[r].setAttribute('class', rows[r][1]);
    }
  }
  function stateAt(k) {
    var s = {};
    for (var j = 0; j <= k; j++) for (var id in frames[j]) s[id] = frames[j][id];
    return s;
  }

  // zoom and pan: the viewBox is the window onto the drawing, kept at the view's aspect
  var box = svg.viewBox.baseVal, full = {x: box.x, y: box.y, w: box.width, h: box.height};
  var vb = {x: full.x, y: full.y, w: full.w, h: full.h};
  svg.removeAttribute('width'); svg.removeAttribute('height');
  function start() {
    // the whole width if that is readable (never above full size), else 90 % and follow the node
    var s = Math.min(1, view.clientWidth / full.w);
    if (s < 0.6) s = 0.9;
    var height = Math.max(180, Math.min(window.innerHeight * 0.72, full.h * s + 8));
    view.style.height = height + 'px';
    vb.w = view.clientWidth / s;
    vb.x = full.x - Math.max(0, vb.w - full.w) / 2;
    vb.y = full.y - Math.max(0, height / s - full.h) / 2;
    apply();
  }
  function scale() { return view.clientWidth / vb.w; }
  function apply() {
    vb.h = vb.w * view.clientHeight / Math.max(1, view.clientWidth);
    svg.setAttribute('viewBox', vb.x + ' ' + vb.y + ' ' + vb.w + ' ' + vb.h);
  }
  function zoomAt(factor, px, py) {
    var s = scale(), ux = vb.x + px / s, uy = vb.y + py / s;
    vb.w = Math.min(Math.max(vb.w / factor, 20), full.w * 8);
    var t = view.clientWidth / vb.w;
    vb.x = ux - px / t; vb.y = uy - py / t; apply();
  }
  function fit() {
    var aspect = view.clientHeight / Math.max(1, view.clientWidth);
    vb.w = Math.max(full.w, full.h / aspect);
    vb.x = full.x - (vb.w - full.w) / 2; vb.y = full.y - (vb.w * aspect - full.h) / 2; apply();
  }
  function follow(id) {  // pan just enough to bring the element into view
    var e = element(id);
    if (!e) return;
    var r = e.g.getBoundingClientRect(), v = view.getBoundingClientRect(), s = scale(), m = 8;
    var dx = r.left < v.left + m ? r.left - v.left - m :
             r.right > v.right - m ? Math.min(r.right - v.right + m, r.left - v.left - m) : 0;
    var dy = r.top < v.top + m ? r.top - v.top - m :
             r.bottom > v.bottom - m ? Math.min(r.bottom - v.bottom + m, r.top - v.top - m) : 0;
    if (dx || dy) { vb.x += dx / s; vb.y += dy / s; apply(); }
  }

  function show(k) {
    at = Math.max(0, Math.min(n - 1, k));
    var s = stateAt(at);
    for (var id in s) if (shown[id] !== s[id]) { paint(id, s[id]); shown[id] = s[id]; }
    slider.value = at; count.textContent = (at + 1) + ' / ' + n;
    caption.textContent = data.captions[at];
    root.setAttribute('data-step', at);
    follow(data.focus[at]);
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = '\u25B6 play'; }
  function step(by) { stop(); show(at + by); }
  root.querySelector('.prev').onclick = function() { step(-1); };
  root.querySelector('.next').onclick = function() { step(1); };
  root.querySelector('.zoom-in').onclick = function() {
    zoomAt(1.4, view.clientWidth / 2, view.clientHeight / 2); };
  root.querySelector('.zoom-out').onclick = function() {
    zoomAt(1 / 1.4, view.clientWidth / 2, view.clientHeight / 2); };
  root.querySelector('.fit').onclick = fit;
  play.onclick = function() {
    if (timer) return stop();
    if (at === n - 1) show(0);
    play.textContent = '\u25A0 pause';
    timer = setInterval(function() { at < n - 1 ? show(at + 1) : stop(); }, 900);
  };
  slider.oninput = function() { stop(); show(+slider.value); };
  (wholePage ? document : root).addEventListener('keydown', function(e) {
    if (e.target.tagName === 'INPUT' && e.target.type !== 'range') return;
    var moves = {ArrowRight: 1, ArrowLeft: -1, PageDown: 1, PageUp: -1};
    if (e.key in moves) step(moves[e.key]);
    else if (e.key === 'Home') { stop(); show(0); }
    else if (e.key === 'End') { stop(); show(n - 1); }
    else if (e.key === '+' || e.key === '=') root.querySelector('.zoom-in').onclick();
    else if (e.key === '-') root.querySelector('.zoom-out').onclick();
    else return;
    e.preventDefault();
  });
  view.addEventListener('wheel', function(e) {
    var v = view.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY / 300), e.clientX - v.left, e.clientY - v.top);
    e.preventDefault();
  }, {passive: false});
  var pointers = {};
  view.addEventListener('pointerdown', function(e) {
    pointers[e.pointerId] = {x: e.clientX, y: e.clientY};
    view.setPointerCapture(e.pointerId);
  });
  view.addEventListener('pointermove', function(e) {
    var last = pointers[e.pointerId];
    if (!last) return;
    var ids = Object.keys(pointers);
    if (ids.length === 2) {
      var other = pointers[ids[0] == e.pointerId ? ids[1] : ids[0]];
      var before = Math.hypot(last.x - other.x, last.y - other.y);
      var after = Math.hypot(e.clientX - other.x, e.clientY - other.y);
      var v = view.getBoundingClientRect();
      if (before > 0) zoomAt(after / before, (e.clientX + other.x) / 2 - v.left,
                             (e.clientY + other.y) / 2 - v.top);
    } else {
      var s = scale();
      vb.x -= (e.clientX - last.x) / s; vb.y -= (e.clientY - last.y) / s; apply();
    }
    pointers[e.pointerId] = {x: e.clientX, y: e.clientY};
  });
  function lift(e) { delete pointers[e.pointerId]; }
  view.addEventListener('pointerup', lift);
  view.addEventListener('pointercancel', lift);
  window.addEventListener('resize', function() { start(); follow(data.focus[at]); });

  root.classList.add('js');
  start();
  show(0);
  if (wholePage) root.focus();
})(document.getElementById('__UID__'), __WHOLE_PAGE__);
"""


def inline_svg(svg_text: str) -> str:
    """An SVG document as an element to put inside HTML (no XML prolog or DOCTYPE)."""
    return _PROLOG.sub("", svg_text, count=1).strip()


def _json_for_script(document) -> str:
    """JSON that is safe inside a <script> element ("</script>" cannot end it early)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def stepper_section(stepper: Stepper, whole_page: bool = False) -> str:
    """The stepper as an HTML fragment (a <div> with its style, drawing, frames and script).

    With `whole_page` the arrow keys work as soon as the page opens; inside a notebook they
    work once the stepper has been clicked, so they never steal the notebook's own keys.
    """
    uid = "chainrule-" + uuid.uuid4().hex[:10]
    prefix = uid + "-"
    frames = stepper.frames()
    drawing = inline_svg(apply_state(_base_svg(stepper, prefix), frames[0], prefix))
    data = {
        "prefix": prefix,
        "frames": [{k: [cls, [list(r) for r in rows]] for k, (cls, rows) in f.items()}
                   for f in frames],
        "captions": [step.caption for step in stepper.steps],
        "focus": [stepper.focus(i) for i in range(len(stepper))],
    }
    n = len(stepper)
    captions = "".join(f"<li>{html.escape(s.caption)}</li>" for s in stepper.steps)
    return "\n".join([
        f'<div class="chainrule-stepper" id="{uid}" tabindex="0" data-step="0">',
        f"<style>{_PAGE_STYLE}{STYLE}</style>",
        '<div class="bar">'
        '<button class="prev" title="previous step (←)">&#x25C0; prev</button>'
        '<button class="play" title="play / pause">&#x25B6; play</button>'
        '<button class="next" title="next step (→)">next &#x25B6;</button>'
        f'<input class="slider" type="range" min="0" max="{n - 1}" value="0" '
        'aria-label="step">'
        f'<span class="count">1 / {n}</span>'
        '<button class="zoom-out" title="zoom out (-)">&#x2212;</button>'
        '<button class="zoom-in" title="zoom in (+)">+</button>'
        '<button class="fit" title="show the whole graph">fit</button></div>',
        f'<p class="caption">{html.escape(stepper.steps[0].caption)}</p>',
        f'<div class="view">{drawing}</div>',
        f'<ol class="all">{captions}</ol>',
        f'<script type="application/json" class="frames">{_json_for_script(data)}</script>',
        "<script>" + _SCRIPT.replace("__UID__", uid).replace(
            "__WHOLE_PAGE__", "true" if whole_page else "false") + "</script></div>",
    ])


def _base_svg(stepper, prefix) -> str:
    from .render import svg

    return svg(stepper.graph(0, id_prefix=prefix))


def stepper_html(stepper: Stepper, title: str | None = None) -> str:
    """A complete HTML page of the walk."""
    title = title or f"chainrule: forward and backward through {stepper.names[stepper.root]}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        '<body style="margin:.6em">\n'
        f'<h1 style="font:600 1.1em Helvetica,Arial,sans-serif">{html.escape(title)}</h1>\n'
        f"{stepper_section(stepper, whole_page=True)}\n</body></html>\n"
    )


def write_html(
    stepper: Stepper, path: str | os.PathLike[str], title: str | None = None
) -> str:
    """Write the page to `path` atomically; returns the path."""
    return write_atomic(path, stepper_html(stepper, title=title).encode("utf-8"))
