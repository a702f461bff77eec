"""The import name `autograd` is shared with HIPS autograd: chainrule refuses to run beside it.

These tests lay out a site-packages folder by hand (chainrule's packages with an install
RECORD, then what HIPS autograd would add) and import from it in a fresh interpreter.
tests/test_packaging.py does the same with the real wheel and the real HIPS autograd.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _install(site: Path) -> None:
    """chainrule's autograd and nn in `site`, with a RECORD as pip would write."""
    lines = []
    for package in ("autograd", "nn", "viz"):
        shutil.copytree(ROOT / package, site / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
        lines += [f"{p.relative_to(site).as_posix()},," for p in (site / package).rglob("*")
                  if p.is_file()]
    info = site / "chainrule-0.1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("\n".join(lines + ["chainrule-0.1.0.dist-info/RECORD,,"]))


def _import(site: Path, code: str, *extra_paths, env=None):
    path = os.pathsep.join([str(site), *map(str, extra_paths)])
    environment = {k: v for k, v in os.environ.items() if k != "CHAINRULE_SKIP_AUTOGRAD_CHECK"}
    environment.update(PYTHONPATH=path, **(env or {}))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=site, env=environment, timeout=120)


def _add_hips(folder: Path) -> None:
    """What HIPS autograd's wheel puts in site-packages/autograd (a few of its files)."""
    (folder / "numpy").mkdir(parents=True, exist_ok=True)
    (folder / "numpy" / "__init__.py").write_text("")
    (folder / "core.py").write_text("")
    (folder / "tracer.py").write_text("")


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site-packages"
    site.mkdir()
    _install(site)
    return site


def test_a_clean_install_imports(site):
    result = _import(site, "import autograd, nn; print(autograd.__file__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(site))


def test_hips_files_in_the_same_folder_are_refused(site):
    _add_hips(site / "autograd")
    result = _import(site, "import autograd")
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()
    error = "\n".join(message[message.index(next(m for m in message
                                                 if "AutogradNameConflict" in m)):])
    assert "autograd._conflict.AutogradNameConflict: chainrule cannot run here" in error
    assert "core.py, numpy, tracer.py" in error
    assert str(site / "autograd") in error
    assert "virtual environment" in error and "pip uninstall chainrule autograd" in error


@pytest.mark.parametrize("package", ["nn", "viz"])
def test_hips_owning_the_init_is_refused_by_nn_and_viz(site, package):
    # HIPS installed last: its __init__.py replaced chainrule's, which never runs
    _add_hips(site / "autograd")
    (site / "autograd" / "__init__.py").write_text("from .core import *\n")
    result = _import(site, f"import {package}")
    assert "AutogradNameConflict" in result.stderr and "core.py" in result.stderr


def test_another_autograd_distribution_beside_it_is_refused(site):
    (site / "autograd-1.9.1.dist-info").mkdir()
    result = _import(site, "import autograd")
    assert "AutogradNameConflict" in result.stderr
    assert "same folder" in result.stderr


def test_another_autograd_elsewhere_on_the_path_is_refused(site, tmp_path):
    other = tmp_path / "elsewhere"
    _add_hips(other / "autograd")
    (other / "autograd" / "__init__.py").write_text("")
    result = _import(site, "import autograd", other)
    assert "AutogradNameConflict" in result.stderr
    assert f"importable from {other / 'autograd'}" in result.stderr


def test_the_check_can_be_skipped(site):
    _add_hips(site / "autograd")
    result = _import(site, "import autograd, nn",
                     env={"CHAINRULE_SKIP_AUTOGRAD_CHECK": "1"})
    assert result.returncode == 0, result.stderr


def test_a_source_checkout_imports():
    # here: no RECORD beside the source folder, so only the sys.path scan runs
    result = subprocess.run([sys.executable, "-c", "import autograd, nn"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_check_is_cheap(site):
    # a directory listing, a RECORD of ~40 lines and a stat per sys.path entry
    code = ("import timeit, autograd._conflict as c; "
            "print(min(timeit.repeat(c.check, number=100, repeat=5)) / 100)")
    result = _import(site, code)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) < 0.002  # seconds; measured ~0.1 ms
