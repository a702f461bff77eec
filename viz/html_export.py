"""A Stepper's walk as one self-contained HTML page: every frame as inline SVG.

No network and no library: a few lines of script show one frame at a time with
previous / play / next buttons, a slider and the arrow keys. Where scripts do not run
(static notebook viewers, some mail readers) every frame simply shows, one under the other.
"""

from __future__ import annotations

import html
import re
import uuid

from autograd.files import write_atomic

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)

_STYLE = """
.chainrule-stepper{font-family:Helvetica,Arial,sans-serif;color:#111}
.chainrule-stepper .bar{display:none;gap:.4em;align-items:center;margin:.3em 0}
.chainrule-stepper.js .bar{display:flex}
.chainrule-stepper .bar button{font-size:1em;min-width:2.4em}
.chainrule-stepper .bar input{flex:1;max-width:30em}
.chainrule-stepper .frame{margin:.6em 0;overflow-x:auto}
.chainrule-stepper.js .frame{display:none}
.chainrule-stepper.js .frame.on{display:block}
.chainrule-stepper .caption{font-family:Menlo,Consolas,monospace;font-size:.9em;margin:.2em 0}
.chainrule-stepper svg{max-width:100%;height:auto}
"""

# Runs once per page section; `root` is this stepper's own element, so several
# steppers can share a page (a notebook with two outputs).
_SCRIPT = """
(function(root){
  var frames = root.querySelectorAll('.frame'), slider = root.querySelector('.slider'),
      count = root.querySelector('.count'), play = root.querySelector('.play'),
      at = 0, timer = null;
  function show(k){
    at = Math.max(0, Math.min(frames.length - 1, k));
    for (var j = 0; j < frames.length; j++) frames[j].classList.toggle('on', j === at);
    slider.value = at; count.textContent = (at + 1) + ' / ' + frames.length;
    root.setAttribute('data-step', at);
  }
  function stop(){ clearInterval(timer); timer = null; play.textContent = '\\u25B6 play'; }
  root.querySelector('.prev').onclick = function(){ stop(); show(at - 1); };
  root.querySelector('.next').onclick = function(){ stop(); show(at + 1); };
  play.onclick = function(){
    if (timer) return stop();
    if (at === frames.length - 1) show(0);
    play.textContent = '\\u25A0 pause';
    timer = setInterval(function(){ at < frames.length - 1 ? show(at + 1) : stop(); }, 900);
  };
  slider.oninput = function(){ stop(); show(+slider.value); };
  root.onkeydown = function(e){
    if (e.key === 'ArrowRight') { stop(); show(at + 1); e.preventDefault(); }
    if (e.key === 'ArrowLeft') { stop(); show(at - 1); e.preventDefault(); }
  };
  root.classList.add('js');
  show(0);
})(document.getElementById('%s'));
"""


def inline_svg(svg_text: str) -> str:
    """An SVG document as an element to put inside HTML (no XML prolog or DOCTYPE)."""
    return _PROLOG.sub("", svg_text, count=1).strip()


def stepper_section(stepper, frames=None) -> str:
    """The stepper as an HTML fragment (a <div> with its style and script)."""
    frames = frames if frames is not None else stepper.svgs()
    uid = "chainrule-" + uuid.uuid4().hex[:10]
    n = len(frames)
    parts = [
        f'<div class="chainrule-stepper" id="{uid}" tabindex="0" data-step="0">',
        f"<style>{_STYLE}</style>",
        '<div class="bar">'
        '<button class="prev" title="previous step (←)">&#x25C0; prev</button>'
        '<button class="play" title="play / pause">&#x25B6; play</button>'
        '<button class="next" title="next step (→)">next &#x25B6;</button>'
        f'<input class="slider" type="range" min="0" max="{n - 1}" value="0" '
        'aria-label="step">'
        f'<span class="count">1 / {n}</span></div>',
    ]
    for i, (step, svg_text) in enumerate(zip(stepper.steps, frames)):
        parts.append(
            f'<div class="frame" data-index="{i}" data-phase="{step.phase}">'
            f'<p class="caption">{html.escape(step.caption)}</p>{inline_svg(svg_text)}</div>'
        )
    parts.append(f"<script>{_SCRIPT % uid}</script></div>")
    return "\n".join(parts)


def stepper_html(stepper, title=None) -> str:
    """A complete HTML page of the walk."""
    title = title or f"chainrule: forward and backward through {stepper.names[stepper.root]}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>\n"
        f"<h1 style=\"font:600 1.1em Helvetica,Arial,sans-serif\">{html.escape(title)}</h1>\n"
        f"{stepper_section(stepper)}\n</body></html>\n"
    )


def write_html(stepper, path, title=None) -> str:
    """Write the page to `path` atomically; returns the path."""
    return write_atomic(path, stepper_html(stepper, title=title).encode("utf-8"))
