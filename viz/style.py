"""How nodes look: each kind has its own shape, border and colour.

The shapes and borders alone tell the kinds apart (in print, in greyscale), and the fills
are light tints of the Okabe-Ito palette, which stays distinguishable for the common
colour-vision deficiencies; text is always black on a light fill.

    input      plain box, sky blue          a leaf the user made (x, a data point)
    constant   dashed box, grey             an unlabelled leaf: a number such as the 2 in 2*x
    parameter  double-bordered box, orange  a model's weight or bias (draw_dot's model= or params=)
    value      rounded box, white           an intermediate result
    output     rounded box, thick border, bluish green
    op         ellipse, light grey          the operation between its inputs and its result
    module     3-D box, reddish purple      an nn Module drawn collapsed
    ghost      dotted border                a Value used many times, drawn again beside a use

Numbers have tones: "pending" (grey: not computed yet), "partial" (orange italic: a
gradient still collecting terms), "final" (black), and edge formulas are dark grey.
"""

import html
from collections.abc import Iterable
from typing import NamedTuple, SupportsFloat

import graphviz

FONT = "Helvetica,Arial,sans-serif"

KIND_ATTRS = {
    "input": {"shape": "box", "style": "filled", "fillcolor": "#d4ebf9", "color": "#0072b2"},
    "constant": {"shape": "box", "style": "filled,dashed", "fillcolor": "#f0f0f0",
                 "color": "#666666"},
    "param": {"shape": "box", "style": "filled", "peripheries": "2", "fillcolor": "#fbe3b3",
              "color": "#a66f00"},
    "value": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff",
              "color": "#444444"},
    "output": {"shape": "box", "style": "rounded,filled,bold", "penwidth": "3",
               "fillcolor": "#c6ebdd", "color": "#007a56"},
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#ececec", "color": "#777777",
           "fontsize": "11"},
    "module": {"shape": "box3d", "style": "filled", "fillcolor": "#f3d9e8", "color": "#9c4f7c"},
    "more": {"shape": "note", "style": "filled,dashed", "fillcolor": "#ffffff",
             "color": "#666666"},
    "ghost": {"style": "filled,dotted", "penwidth": "1.5", "peripheries": "1"},
}

# The stepper's marks: the current node gets a yellow fill and a thick blue border; a node
# that just received a gradient term a thick vermillion border; the edges being multiplied
# are thick vermillion.
CURRENT_FILL, CURRENT_BORDER = "#f7ee8f", "#0072b2"
PASSED_BORDER = "#d55e00"
TONES = {"pending": "#8a8a8a", "partial": "#b35900", "final": "#111111", "formula": "#333333"}

MAX_LABEL = 40  # characters of a user label shown in a node


def fmt(x: SupportsFloat | None) -> str:
    """A number as a diagram shows it: 4 significant digits."""
    if x is None:
        return "?"
    s = f"{float(x):.4g}"
    return "0" if s == "-0" else s


def clean(s: object, limit: int = MAX_LABEL) -> str:
    """Text as a diagram shows it: unprintable characters (controls, which XML cannot carry)
    written as escapes, and anything longer than `limit` cut with an ellipsis."""
    s = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(s))
    return s if len(s) <= limit else s[: limit - 1] + "…"


def text(s: object, limit: int = MAX_LABEL) -> str:
    """User text made safe for an HTML-like Graphviz label: shown as-is, never as markup.

    Backslashes too: Graphviz expands \\N, \\G and friends even inside HTML-like labels (and
    even when written &#92;), and reads a doubled one as one backslash.
    """
    return html.escape(clean(s, limit), quote=True).replace("\\", "\\\\")


class Row(NamedTuple):
    """One line of a label. `text` is raw: it is escaped when the label is made."""

    text: str
    tone: str | None = None  # a key of TONES, or None for plain black
    bold: bool = False
    width: int | None = None  # points; fixes the cell so the layout ignores the text
    limit: int = 200
    swatch: str | None = None  # a key of KIND_ATTRS: the row starts with a sample of that kind


def label(rows: Iterable[Row], html_like: bool = True) -> str:
    """A Graphviz label of these rows.

    HTML-like (a table, with colours, bold and fixed cell sizes) by default. Plain labels
    (lines of escaped text) serve Graphviz builds without HTML-label support, such as the
    WebAssembly one; Graphviz writes their text into SVG escaped, like any other text.
    """
    if not html_like:
        # Graphviz reads entities in plain labels too: "&amp;" would show as "&"
        lines = [graphviz.escape(clean(_plain_text(r), r.limit)).replace("&", "&amp;")
                 for r in rows]
        return graphviz.nohtml("\\n".join(lines) or " ")
    columns = 2 if any(r.swatch for r in rows) else 1
    cells = []
    for r in rows:
        content = text(r.text, r.limit) or " "
        if r.bold:
            content = f"<B>{content}</B>"
        if r.tone == "partial":
            content = f"<I>{content}</I>"
        if r.tone:
            content = f'<FONT COLOR="{TONES[r.tone]}">{content}</FONT>'
        size = f' WIDTH="{r.width}" HEIGHT="15" FIXEDSIZE="TRUE"' if r.width else ""
        if r.swatch:
            cells.append(f'<TR>{_swatch(r.swatch)}<TD ALIGN="LEFT">{content}</TD></TR>')
        elif columns == 2:
            cells.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT"{size}>{content}</TD></TR>')
        else:
            cells.append(f"<TR><TD{size}>{content}</TD></TR>")
    spacing = "2" if columns == 2 else "0"
    return (
        f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="{spacing}" CELLPADDING="1">'
        + "".join(cells or ["<TR><TD> </TD></TR>"])
        + "</TABLE>>"
    )


def _plain_text(row):
    return f"[{row.swatch}] {row.text}" if row.swatch else row.text


def _swatch(kind):
    """A table cell in the fill and border colour of this kind, with the kind's name in it.

    (Cell STYLEs such as dashed would show the border too, but crash Graphviz 2.43's JSON
    output, so the legend's words say what the border looks like.)
    """
    attrs = KIND_ATTRS[kind]
    border = "2" if attrs.get("peripheries") == "2" or "bold" in attrs.get("style", "") else "1"
    fill = attrs.get("fillcolor", "#ffffff")
    color = attrs.get("color", "#444444")
    return (f'<TD BGCOLOR="{fill}" COLOR="{color}" BORDER="{border}">'
            f"{text(kind if kind != 'param' else 'parameter')}</TD>")
