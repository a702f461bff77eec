"""The wheel works outside the repository (slow: builds it and installs it into fresh venvs).

`python -m build` makes an sdist and a wheel, `twine check` passes them, and the wheel,
installed (not editable) into a new virtual environment in a temporary folder, runs the
demo, the command line and a gradcheck; without Graphviz's dot the error names both
remedies, and the `wasm` extra renders anyway. Beside HIPS autograd (PyPI's `autograd`) it
refuses to import, whichever of the two was installed last. pip installs from its cache.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _run(args, cwd=None, env=None, check=True, timeout=600):
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def _venv(folder: Path) -> Path:
    """A fresh virtual environment without pip of its own (this pip installs into it)."""
    _run([sys.executable, "-m", "venv", "--without-pip", folder])
    return folder / "bin" / "python"


def _pip_install(python: Path, *requirements):
    _run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python,
          "install", "-q", *requirements])


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", out, ROOT])
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out.iterdir())
    return wheels[0], sdists[0]


@pytest.fixture(scope="module")
def installed(tmp_path_factory, dist):
    """(python, work folder) of a fresh venv with the wheel installed."""
    base = tmp_path_factory.mktemp("wheel-venv")
    python = _venv(base / "venv")
    _pip_install(python, dist[0])
    work = base / "work"
    work.mkdir()
    return python, work


def _without_dot(python: Path) -> dict:
    """An environment whose PATH has only the venv's bin: no `dot` to be found."""
    return {**os.environ, "PATH": str(python.parent)}


def test_twine_check_passes(dist):
    pytest.importorskip("twine")
    result = _run([sys.executable, "-m", "twine", "check", "--strict", *dist])
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_wheel_works_outside_the_repo(installed):
    python, work = installed
    where = _run([python, "-c", "import autograd, nn, viz; print(autograd.__file__)"], cwd=work)
    assert str(python.parent.parent) in where.stdout  # the venv's copy, not the repo's
    demo = _run([python, "-m", "nn", "--quiet"], cwd=work)
    assert "Accuracy reached" in demo.stdout
    check = _run([python, "-c", "from autograd import gradcheck\n"
                  "print(gradcheck(lambda x, w, b: (x * w + b).tanh(), [1.0, 2.0, 3.0]))"],
                 cwd=work)
    assert check.stdout.strip() == "True"
    if not any((Path(p) / "dot").exists() for p in os.environ["PATH"].split(os.pathsep)):
        pytest.skip("Graphviz's dot is not installed (the no-dot paths are tested below)")
    _run([python, "-m", "viz", "tanh(x*w+b)", "x=1", "w=2", "b=3", "--out", "g.svg"], cwd=work)
    assert (work / "g.svg").read_text().lstrip().startswith("<?xml")


def test_without_dot_the_error_names_both_remedies_and_the_wasm_extra_renders(
    tmp_path, dist
):
    python = _venv(tmp_path / "venv")
    _pip_install(python, dist[0])
    args = [python, "-m", "viz", "tanh(x*w+b)", "x=1", "w=2", "b=3", "--out", "g.svg"]
    failed = _run(args, cwd=tmp_path, env=_without_dot(python), check=False)
    assert failed.returncode != 0
    assert "apt-get install graphviz" in failed.stderr
    assert "pip install 'chainrule[wasm]'" in failed.stderr
    _pip_install(python, f"{dist[0]}[wasm]")
    _run(args, cwd=tmp_path, env=_without_dot(python))
    svg = (tmp_path / "g.svg").read_text()
    assert "<svg" in svg and "tanh" in svg


def test_beside_hips_autograd_it_refuses_to_import(tmp_path, dist):
    python = _venv(tmp_path / "venv")
    _pip_install(python, "autograd")  # HIPS autograd, from PyPI (or pip's cache)
    _pip_install(python, dist[0])  # chainrule last: its __init__.py wins the merge
    for code in ("import autograd", "import nn"):
        result = _run([python, "-c", code], cwd=tmp_path, check=False)
        assert "AutogradNameConflict" in result.stderr, result.stderr
        assert "core.py" in result.stderr and "virtual environment" in result.stderr
        assert "(autograd " in result.stderr  # it names the other distribution
    # HIPS last: its __init__.py wins; `import nn` still says what happened
    _pip_install(python, "--force-reinstall", "--no-deps", "autograd")
    result = _run([python, "-c", "import nn"], cwd=tmp_path, check=False)
    assert "AutogradNameConflict" in result.stderr, result.stderr
    # and in a separate environment (the fix the message gives) all is well
    own = _venv(tmp_path / "own")
    _pip_install(own, dist[0])
    _run([own, "-c", "import autograd, nn"], cwd=tmp_path)
