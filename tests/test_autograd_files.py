"""autograd.files: the atomic writer every layer saves through."""

import importlib
import os
import re
import time

import pytest

from autograd import files
from autograd.files import read_json, write_atomic, write_json_atomic


def test_writes_and_returns_the_path_as_given(tmp_path):
    path = tmp_path / "a.txt"
    assert write_atomic(path, b"hello") == str(path)
    assert path.read_bytes() == b"hello"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_a_symlink_is_written_through_to_its_target(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_atomic(link, b"new")
    assert link.is_symlink()
    assert target.read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["link.json", "real.json"]


def test_a_symlink_into_another_directory_writes_the_temp_file_there(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "model.json"
    target.write_text("old")
    link = tmp_path / "model.json"
    link.symlink_to(target)
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((os.path.dirname(src), dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_atomic(link, b"new")
    assert seen == [(str(tmp_path / "data"), str(target))]
    assert target.read_text() == "new" and link.is_symlink()


def test_a_read_only_file_is_refused_as_open_refuses_it(tmp_path, monkeypatch):
    path = tmp_path / "ro.json"
    path.write_text("old")
    path.chmod(0o444)
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False)  # as for a non-root user
    with pytest.raises(PermissionError, match="read-only") as info:
        write_atomic(path, b"new")
    assert info.value.filename == str(path)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["ro.json"]


def test_root_may_write_a_read_only_file_as_open_may(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    path = tmp_path / "ro.json"
    path.write_text("old")
    path.chmod(0o444)
    with open(path, "w"):  # what open() allows, the writer allows
        pass
    write_atomic(path, b"new")
    assert path.read_text() == "new"


@pytest.mark.skipif(not hasattr(os, "fork") or os.geteuid() != 0, reason="needs root and fork")
def test_a_non_root_user_cannot_replace_a_read_only_file(tmp_path):
    """As `nobody`: open() is refused, so is the writer, though the directory is open."""
    tmp_path.chmod(0o777)
    path = tmp_path / "ro.json"
    path.write_text("old")
    path.chmod(0o444)
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, report by exit code
        code = 9
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                open(path, "w")
                code = 2  # open() allowed: the premise fails
            except PermissionError:
                try:
                    write_atomic(path, b"new")
                    code = 1  # the bug: a read-only file replaced
                except PermissionError as error:
                    code = 0 if error.filename == str(path) else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["ro.json"]


def test_a_missing_directory_is_named_not_the_temp_file(tmp_path):
    path = tmp_path / "missing" / "model.json"
    with pytest.raises(FileNotFoundError) as info:
        write_atomic(path, b"x")
    assert info.value.filename == str(path)
    assert ".tmp" not in str(info.value)
    assert str(path) in str(info.value)


def test_a_read_only_directory_is_named_not_the_temp_file(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".model.json.abcd1234.tmp"))

    monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
    path = tmp_path / "model.json"
    with pytest.raises(PermissionError) as info:
        write_atomic(path, b"x")
    assert info.value.filename == str(path)
    assert ".tmp" not in str(info.value)


def test_a_failed_rename_names_the_target_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    path.write_text("old")

    def crash(src, dst):
        raise OSError(28, "No space left on device", src)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space") as info:
        write_atomic(path, b"new")
    assert info.value.filename == str(path)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["model.json"]


def test_stale_temp_files_of_the_same_target_are_removed_by_the_next_save(tmp_path):
    old = time.time() - files.STALE_SECONDS - 10
    stale = tmp_path / ".model.json.k2j4_9ab.tmp"  # what a killed save leaves
    fresh = tmp_path / ".model.json.zzzz0000.tmp"  # a concurrent writer's, being written now
    other = tmp_path / ".other.json.k2j4_9ab.tmp"  # another target's
    mine = tmp_path / ".model.json.notours.tmp"  # not the writer's pattern
    for p in (stale, fresh, other, mine):
        p.write_text("partial")
    for p in (stale, other, mine):
        os.utime(p, (old, old))
    write_atomic(tmp_path / "model.json", b"{}")
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["model.json", fresh.name, other.name, mine.name]
    )


def test_a_failed_save_removes_nothing(tmp_path, monkeypatch):
    old = time.time() - files.STALE_SECONDS - 10
    stale = tmp_path / ".model.json.k2j4_9ab.tmp"
    stale.write_text("partial")
    os.utime(stale, (old, old))
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("boom")))
    with pytest.raises(OSError, match="boom"):
        write_atomic(tmp_path / "model.json", b"{}")
    assert os.listdir(tmp_path) == [stale.name]


def test_json_round_trip_and_non_finite_numbers_are_refused(tmp_path):
    path = tmp_path / "d.json"
    write_json_atomic(path, {"a": [1, 2.5]})
    assert read_json(path) == {"a": [1, 2.5]}
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "bad.json", {"a": float("inf")})
    assert not (tmp_path / "bad.json").exists()
    path.write_text('{"a": NaN}')
    with pytest.raises(ValueError, match="d.json"):
        read_json(path)


def test_viz_and_nn_write_through_autograd_files():
    """viz depends on autograd only: its writers must not import nn."""
    for name in ("viz.render", "viz.plots", "viz.html_export"):
        module = importlib.import_module(name)
        assert module.write_atomic is write_atomic
        source = open(module.__file__).read()
        assert not re.search(r"^\s*(from|import) nn\b", source, re.MULTILINE), name
