"""Refuse to run beside another package named ``autograd`` (HIPS autograd, on PyPI as
``autograd``), instead of one silently replacing the other.

pip installs every distribution's ``autograd/`` into the same ``site-packages/autograd/``
folder: chainrule's ``from autograd import grad`` would hide HIPS's (or the reverse), and
uninstalling either one breaks the other with nothing reported by ``pip check``. So at import:

1. the folder this file is in holds files that chainrule's own install record (its
   ``RECORD``) does not list, or an ``autograd-*.dist-info`` sits beside it; or
2. another folder on ``sys.path`` has an ``autograd`` package that is not chainrule's.

Importing this module runs the check (autograd and nn import it first); either case
raises `AutogradNameConflict`, an ImportError saying what happened and how to fix it.
The check costs a directory listing, one small file read and a stat per ``sys.path``
entry: 0.1 to 0.3 ms measured, of the ~150 ms that importing numpy and autograd takes.
Naming the other distribution reads metadata only on failure.
``CHAINRULE_SKIP_AUTOGRAD_CHECK=1`` turns it off, for those who know what they are doing.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MARKER = os.path.basename(__file__)  # a folder with this file is chainrule's own autograd
SKIP = "CHAINRULE_SKIP_AUTOGRAD_CHECK"

FIX = (
    "How to fix it: give chainrule a virtual environment of its own, e.g.\n"
    "    python -m venv chainrule-env && chainrule-env/bin/pip install chainrule\n"
    "and in this environment run 'pip uninstall chainrule autograd', then "
    "'pip install autograd' if you use HIPS autograd here. (Set "
    f"{SKIP}=1 to import anyway, at your own risk.)"
)


class AutogradNameConflict(ImportError):
    """Another distribution's ``autograd`` shares chainrule's import name here."""


def _own_files(site: str, listing: list[str]) -> set[str] | None:
    """Names in the autograd folder that chainrule's install RECORD lists, or None when
    chainrule is not installed from a wheel into `site` (a source checkout, editable)."""
    records = [n for n in listing if n.startswith("chainrule-") and n.endswith(".dist-info")]
    if not records:
        return None
    own: set[str] = set()
    for record in records:
        try:
            with open(os.path.join(site, record, "RECORD"), encoding="utf-8") as f:
                for line in f:
                    if line.startswith("autograd/"):
                        own.add(line[len("autograd/"):].split(",", 1)[0].split("/", 1)[0])
        except OSError:
            return None
    return own


def _foreign_in_folder() -> tuple[list[str], list[str]]:
    """(files in chainrule's autograd folder that are not chainrule's, autograd dist-infos
    beside it)."""
    site = os.path.dirname(HERE)
    try:
        listing = os.listdir(site)
    except OSError:
        return [], []
    others = [n for n in listing if n.lower().startswith("autograd-")
              and n.endswith((".dist-info", ".egg-info"))]
    own = _own_files(site, listing)
    if own is None:
        return [], others
    foreign = sorted(n for n in os.listdir(HERE) if n not in own and n != "__pycache__")
    return foreign, others


def _other_packages() -> list[str]:
    """Other folders on sys.path that hold an importable ``autograd`` not chainrule's."""
    found: list[str] = []
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        folder = os.path.join(entry or os.curdir, "autograd")
        if os.path.isfile(os.path.join(entry or os.curdir, "autograd.py")):
            found.append(folder + ".py")
        elif os.path.isfile(os.path.join(folder, "__init__.py")) and not os.path.isfile(
            os.path.join(folder, MARKER)
        ):
            found.append(os.path.abspath(folder))
    return found


def _who() -> str:
    """'another distribution ... (autograd 1.9.1)': who else provides ``autograd`` here."""
    names = ""
    try:
        from importlib.metadata import packages_distributions, version

        others = [n for n in packages_distributions().get("autograd", []) if n != "chainrule"]
        names = ", ".join(f"{n} {version(n)}" for n in dict.fromkeys(others))
    except Exception:  # naming it is a courtesy; the conflict is real either way
        pass
    return "another distribution that provides 'autograd'" + (f" ({names})" if names else "")


def check() -> None:
    """Raise `AutogradNameConflict` if another ``autograd`` shares chainrule's name here."""
    if os.environ.get(SKIP) == "1":
        return
    foreign, dist_infos = _foreign_in_folder()
    if foreign or dist_infos:
        shown = ", ".join(foreign[:8]) + (", ..." if len(foreign) > 8 else "")
        raise AutogradNameConflict(
            f"chainrule cannot run here: {_who()} was installed into the same folder as "
            f"chainrule's autograd, {HERE}"
            + (f", adding {shown}" if foreign else "")
            + ". pip merges packages with the same import name into one folder, so "
            "whichever was installed last owns autograd/__init__.py, neither works reliably, "
            "and uninstalling either one breaks the other.\n" + FIX
        )
    others = _other_packages()
    if others:
        raise AutogradNameConflict(
            "chainrule cannot run here: another package named 'autograd' is importable from "
            f"{others[0]} ({_who()}) besides chainrule's, {HERE}. "
            "'import autograd' gets whichever comes first on sys.path, so one of the two is "
            "always hidden.\n" + FIX
        )


check()  # importing this module is the check: autograd and nn import it first
