"""Writing files atomically and reading JSON, for every layer (nn's models, viz's pictures).

    from autograd.files import write_atomic
    write_atomic("graph.svg", svg_bytes)

A write goes to a temporary file beside the target, then is renamed over it, so a crash
mid-write leaves the old file (or none), never half of a new one. The target is what
``open(path, "w")`` would write: a symlink's target, refused when the file is read-only.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
import time
from typing import Any, NoReturn

STALE_SECONDS = 60
"""A leftover temporary file of a target, untouched for this long, is removed by the next
save of that target: no living writer leaves its temporary file unmodified that long."""


def _file_mode(path: str) -> int:
    """The permissions a plain open() would give: the file's old ones, or the umask's."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _may_write(path: str) -> bool:
    """Whether open(path, "w") would be allowed on an existing file (root may write)."""
    if os.access in os.supports_effective_ids:
        return os.access(path, os.W_OK, effective_ids=True)
    return os.access(path, os.W_OK)


def _refused(error: OSError, path: str) -> OSError:
    """`error` again, naming the file the user asked for instead of our temporary file."""
    if error.filename is None:
        return error
    return OSError(error.errno, error.strerror or str(error), path)


def _temp_names(name: str) -> re.Pattern[str]:
    """The names `tempfile.mkstemp` gives our temporary files for target `name`."""
    return re.compile(re.escape(f".{name}.") + r"[a-z0-9_]{8}\.tmp")


def remove_stale_temp_files(target: str, older_than: float = STALE_SECONDS) -> list[str]:
    """Remove temporary files a killed writer left beside `target`; returns their paths.

    Only files named like this module's own temporary files for that very target
    (``.name.json.XXXXXXXX.tmp``) and not modified for `older_than` seconds are removed,
    so a concurrent writer's file, which it is writing right now, is left alone.
    """
    directory, name = os.path.split(target)
    pattern, now, removed = _temp_names(name), time.time(), list[str]()
    try:
        entries = list(os.scandir(directory or "."))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and now - entry.stat(
                follow_symlinks=False
            ).st_mtime > older_than:
                os.unlink(entry.path)
                removed.append(entry.path)
    return removed


def write_atomic(path: str | os.PathLike[str], data: bytes) -> str:
    """Write `data` to `path` atomically; returns `path` as given.

    The bytes go to a temporary file beside the target, which is then renamed over it.
    A symlink is written through: its target gets the new content, the link stays.
    A read-only target is refused with PermissionError, as ``open(path, "w")`` refuses it.
    Any failure raises an OSError whose ``filename`` is `path` and leaves the old file as
    it was. After a successful write, temporary files that an interrupted earlier save of
    the same target left behind and that are older than `STALE_SECONDS` are removed.
    """
    path = os.fspath(path)
    target = os.path.realpath(path)
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
    if os.path.exists(target) and not _may_write(target):
        raise PermissionError(errno.EACCES, "Permission denied (the file is read-only)", path)
    directory, name = os.path.split(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise _refused(error, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(target))
        os.replace(tmp, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise _refused(error, path) from None
        raise
    remove_stale_temp_files(target)
    return path


def write_json_atomic(path: str | os.PathLike[str], document: Any) -> str:
    """`document` as JSON, written atomically (see `write_atomic`)."""
    text = json.dumps(document, allow_nan=False)  # fails before any file is touched
    return write_atomic(path, text.encode("utf-8"))


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a finite number")


def read_json(path: str | os.PathLike[str], what: str = "JSON file") -> dict[str, Any]:
    """Parse a JSON object from `path`; anything else is a ValueError naming the file.

    NaN, Infinity and -Infinity (which Python's json accepts) are refused.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValueError(f"{path} is not a {what} (it is not valid JSON: {error})") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a {what} (expected a JSON object)")
    return document
