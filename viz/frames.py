"""Frames as changes to one SVG: the stepper's state applied to its single drawing.

A state is {element id: (class, ((text, tone), ...))}: the class of the element's <g>
("current", "passed", "active" or "") and the text and tone of each of its <text> rows,
in order. The HTML page does this in the browser (its script reads the same states as
JSON); `apply_state` does it here, for `Stepper.svg(i)` and the Jupyter widget. `STYLE`
is the one stylesheet both use, so a frame looks the same wherever it is shown.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from .style import CURRENT_BORDER, CURRENT_FILL, PASSED_BORDER, TONES

SVG_NS = "http://www.w3.org/2000/svg"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
_G, _TEXT, _STYLE = f"{{{SVG_NS}}}g", f"{{{SVG_NS}}}text", f"{{{SVG_NS}}}style"

STATE_CLASSES = ("current", "passed", "active")

STYLE = f"""
g.current > polygon, g.current > path, g.current > ellipse {{
  fill: {CURRENT_FILL}; stroke: {CURRENT_BORDER}; stroke-width: 4px; }}
g.passed > polygon, g.passed > path, g.passed > ellipse {{
  stroke: {PASSED_BORDER}; stroke-width: 3px; }}
g.edge.active > path {{ stroke: {PASSED_BORDER}; stroke-width: 3px; }}
g.edge.active > polygon {{ fill: {PASSED_BORDER}; stroke: {PASSED_BORDER}; }}
text.plain {{ fill: #111111; font-style: normal; }}
text.pending {{ fill: {TONES["pending"]}; font-style: normal; }}
text.partial {{ fill: {TONES["partial"]}; font-style: italic; }}
text.final {{ fill: {TONES["final"]}; font-style: normal; }}
text.formula {{ fill: {TONES["formula"]}; font-style: normal; }}
g.edge.active > text {{ fill: {PASSED_BORDER}; }}
"""


def apply_state(svg_text: str, state: dict[str, Any], id_prefix: str = "") -> str:
    """The SVG with each element of `state` given its class and row texts."""
    root = ET.fromstring(svg_text)
    elements = {g.get("id"): g for g in root.iter(_G) if g.get("id")}
    for element_id, (cls, rows) in state.items():
        g = elements.get(id_prefix + element_id)
        if g is None:
            continue
        base = [c for c in (g.get("class") or "").split() if c not in STATE_CLASSES]
        g.set("class", " ".join(base + ([cls] if cls else [])))
        for text_element, (text, tone) in zip(g.iter(_TEXT), rows):
            text_element.text = text
            text_element.set("class", tone)
    return ET.tostring(root, encoding="unicode")


def with_style(svg_text: str) -> str:
    """The SVG with the frames' stylesheet inside it, so it stands alone as a file."""
    root = ET.fromstring(svg_text)
    style = ET.Element(_STYLE)
    style.text = STYLE
    root.insert(0, style)
    return ET.tostring(root, encoding="unicode")


def element_boxes(svg_text: str) -> dict[str, tuple[float, float, float, float]]:
    """{element id: (x0, y0, x1, y1)} in the SVG's viewBox units, from the shapes' points."""
    root = ET.fromstring(svg_text)
    shift = (0.0, 0.0)
    for g in root.iter(_G):
        if g.get("class") == "graph":
            found = re.search(r"translate\(([-\d.]+)[ ,]([-\d.]+)\)", g.get("transform", ""))
            if found:
                shift = (float(found.group(1)), float(found.group(2)))
            break
    boxes = {}
    for g in root.iter(_G):
        element_id = g.get("id")
        if not element_id or "node" not in (g.get("class") or ""):
            continue
        xs, ys = [], []
        for shape in g:
            numbers = _shape_numbers(shape)
            xs += numbers[0::2]
            ys += numbers[1::2]
        if xs:
            boxes[element_id] = (min(xs) + shift[0], min(ys) + shift[1],
                                  max(xs) + shift[0], max(ys) + shift[1])
    return boxes


def _shape_numbers(shape):
    tag = shape.tag.rsplit("}", 1)[-1]
    if tag == "polygon":
        return [float(n) for n in re.findall(r"-?[\d.]+", shape.get("points", ""))]
    if tag == "path":
        return [float(n) for n in re.findall(r"-?[\d.]+", shape.get("d", ""))]
    if tag == "ellipse":
        cx, cy = float(shape.get("cx")), float(shape.get("cy"))
        rx, ry = float(shape.get("rx")), float(shape.get("ry"))
        return [cx - rx, cy - ry, cx + rx, cy + ry]
    return []
