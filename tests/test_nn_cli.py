"""`python -m nn` and `python -m nn.demo`: the demo's command line."""

import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, cwd, module="nn"):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


BAD = [
    (["--seed", "-1"], "--seed", "from 0 to 4,294,967,295"),
    (["--seed", str(2**32)], "--seed", "from 0 to 4,294,967,295"),
    (["--seed", "1.5"], "--seed", "whole number"),
    (["--seed"], "--seed", "expected one argument"),
    (["--epochs", "0"], "--epochs", "from 1 to"),
    (["--epochs", "-5"], "--epochs", "from 1 to"),
    (["--points", "3"], "--points", "from 4 to 100,000"),
    (["--points", "1e3"], "--points", "whole number"),
    (["--points", str(10**12)], "--points", "from 4 to 100,000"),
    (["--backend", "gpu"], "--backend", "choose from"),
    (["--bogus"], "--bogus", "unrecognized"),
]


@pytest.mark.parametrize("module", ["nn", "nn.demo"])
@pytest.mark.parametrize("args, option, advice", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_a_bad_argument_is_one_line_and_exit_2(tmp_path, module, args, option, advice):
    result = run(*args, cwd=tmp_path, module=module)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"python -m {module}: error: ")
    assert option in lines[0] and advice in lines[0]
    assert lines[0].endswith(f"see python -m {module} --help")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("module", ["nn", "nn.demo"])
def test_help_names_the_command_and_explains_every_option(tmp_path, module):
    result = run("--help", cwd=tmp_path, module=module)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith(f"usage: python -m {module} ")
    assert "0 to 2**32 - 1" in result.stdout  # the seed's range
    from nn.demo import _parser

    for action in _parser(module)._actions:
        assert action.help, f"{action.option_strings} has no help"


def test_the_largest_seed_runs(tmp_path):
    result = run("--seed", str(2**32 - 1), "--points", "8", "--epochs", "2", "--quiet",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Accuracy reached:" in result.stdout


@pytest.mark.skipif(shutil.which("sh") is None or shutil.which("head") is None,
                    reason="needs a POSIX shell and head")
def test_piped_into_head_has_no_traceback(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PY=sys.executable)
    result = subprocess.run(
        ["sh", "-c", '"$PY" -m nn --points 8 --epochs 2 --quiet | head -1'],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.stdout.count("\n") == 1
    assert result.stderr == ""


def test_output_to_a_reader_that_stops_early_ends_quietly(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "nn", "--points", "8", "--epochs", "2",
                             "--quiet"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # nobody reads: the first write meets a closed pipe
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=300) == 1
    assert stderr == ""
