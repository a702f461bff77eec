"""The stepper's HTML page: self-contained, one drawing and its frames, no injected markup."""

import html.parser
import json
import shutil

import pytest

from autograd import Value
from viz import Stepper

pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot program is not installed"
)


class Page(html.parser.HTMLParser):
    """Collects tags, their attributes and the script text of a page."""

    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self._in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def parse(text):
    page = Page()
    page.feed(text)
    return page


def neuron(label="y"):
    x, w, b = Value(1.5, label="x"), Value(-0.5, label="w"), Value(0.2, label="b")
    y = (x * w + b).tanh()
    y.label = label
    return y


def frames_of(page):
    """The frames the page's script replays (the JSON in its data script)."""
    return json.loads(page.scripts[0])


def test_one_drawing_a_state_per_step_and_nothing_from_the_network(tmp_path):
    s = Stepper(neuron())
    path = s.to_html(tmp_path / "walk.html")
    assert path == str(tmp_path / "walk.html")
    text = (tmp_path / "walk.html").read_text(encoding="utf-8")
    page = parse(text)
    tags = [t for t, _ in page.tags]
    assert tags.count("svg") == 1 and tags.count("script") == 2  # the frames and the player
    data = frames_of(page)
    assert len(data["frames"]) == len(data["captions"]) == len(data["focus"]) == len(s) == 12
    assert data["captions"] == [st.caption for st in s.steps]
    for tag, attrs in page.tags:  # no external resource of any kind
        assert "src" not in attrs and tag not in ("link", "iframe", "img", "object")
        assert not attrs.get("href", "").startswith(("http", "//"))
    assert "@import" not in text and "url(" not in text
    assert "<?xml" not in text and "<!DOCTYPE svg" not in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text


def test_every_element_a_frame_changes_is_in_the_drawing():
    s = Stepper(neuron())
    page = parse(s.to_html())
    data = frames_of(page)
    ids = {a["id"] for t, a in page.tags if t == "g" and "id" in a}
    changed = {data["prefix"] + k for f in data["frames"] for k in f}
    assert changed <= ids and {data["prefix"] + f for f in data["focus"]} <= ids


def test_captions_are_listed_in_order_without_script_too():
    """Static notebook viewers run no script: every caption is in the page, in order."""
    s = Stepper(neuron())
    text = s.to_html()
    positions = [text.index(st.caption.split(":")[0] + ":") for st in s.steps]
    assert positions == sorted(positions)


def test_a_hostile_label_stays_text_in_the_page():
    hostile = "</script><script>alert(1)</script>"
    y = neuron(label=hostile)
    text = Stepper(y).to_html()
    page = parse(text)
    assert [t for t, _ in page.tags].count("script") == 2
    assert hostile not in text  # neither in the SVG, the captions nor the frames' JSON
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert hostile in json.dumps(frames_of(page))  # the data itself is intact


def test_two_steppers_on_one_page_do_not_share_ids():
    a, b = Stepper(neuron()).to_html(), Stepper(neuron()).to_html()
    ids = [x for t in (a, b) for _, attrs in parse(t).tags
           if "chainrule-stepper" in attrs.get("class", "") for x in [attrs["id"]]]
    assert len(ids) == 2 and ids[0] != ids[1]


def test_without_the_extras_viz_still_works_and_says_what_to_install(monkeypatch):
    import sys

    for name in ("matplotlib", "matplotlib.figure", "ipywidgets"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    import viz
    from viz import plots

    s = Stepper(neuron())
    bundle = s._repr_mimebundle_()  # no widgets: the self-contained page instead
    assert "text/html" in bundle and "chainrule-stepper" in bundle["text/html"]
    assert len(frames_of(parse(bundle["text/html"]))["frames"]) == len(s)
    with pytest.raises(ImportError, match=r"chainrule\[viz\]"):
        s.widget()
    with pytest.raises(ImportError, match=r"chainrule\[viz\].*matplotlib"):
        plots.plot_activation("tanh")
    with pytest.raises(ImportError, match="matplotlib"):
        viz.plot_history([1.0])
