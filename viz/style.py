"""How nodes look: each kind has its own shape, border and colour.

The shapes and borders alone tell the kinds apart (in print, in greyscale), and the fills
are light tints of the Okabe-Ito palette, which stays distinguishable for the common
colour-vision deficiencies; text is always black on a light fill.

    input      plain box, sky blue          a leaf the user made (x, a data point)
    constant   dashed box, grey             an unlabelled leaf made from a number (the 2 in 2*x)
    parameter  double-bordered box, orange  a model's weight or bias
    value      rounded box, white           an intermediate result
    output     rounded box, thick border, bluish green
    op         ellipse, light grey          the operation between its inputs and its result
    module     3-D box, reddish purple      an nn Module drawn collapsed
"""

import html

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
}

# The stepper's marks: the current node gets a yellow fill and a thick blue border; the
# edges being multiplied are thick vermillion; what is not computed yet is grey.
CURRENT = {"fillcolor": "#f7ee8f", "color": "#0072b2", "penwidth": "4"}
ACTIVE_EDGE = {"color": "#d55e00", "fontcolor": "#d55e00", "penwidth": "3"}
PENDING_TEXT = "#8a8a8a"
EDGE_TEXT = "#333333"

MAX_LABEL = 40  # characters of a user label shown in a node


def fmt(x) -> str:
    """A number as a diagram shows it: 4 significant digits."""
    if x is None:
        return "?"
    s = f"{float(x):.4g}"
    return "0" if s == "-0" else s


def text(s, limit=MAX_LABEL) -> str:
    """User text made safe for an HTML-like Graphviz label: shown as-is, never as markup.

    Unprintable characters (controls, which XML cannot carry) are shown as escapes, long text is cut
    with an ellipsis, and & < > " ' become entities.
    """
    s = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(s))
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return html.escape(s, quote=True)
