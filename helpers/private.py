"""Folders and files only their owner can read: the caches hold per-profile data and paid results.

Modes are set explicitly (``chmod`` after creating), never left to the umask, and folders and files
made by older versions with looser modes are tightened when they are opened again. Reports are not
written through here: they keep the permissions a user's umask gives them.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def _tighten(path: Path, mode: int) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)  # someone else's folder (a shared cache root) is left alone


def private_dir(path: Path, *, parents_up_to: Path | None = None) -> Path:
    """Create ``path`` (and its missing parents) as 0700, or tighten it when it exists.

    ``parents_up_to``: the folders between it and ``path`` are made or tightened to 0700 too.
    """
    path = Path(path)
    chain = [path]
    if parents_up_to is not None:
        top = Path(parents_up_to)
        for parent in path.parents:
            chain.append(parent)
            if parent == top:
                break
    for folder in reversed(chain):
        try:
            folder.mkdir(mode=DIR_MODE, parents=True)
        except FileExistsError:
            if not folder.is_dir():
                raise
        _tighten(folder, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty as 0600 when missing, or tighten it when it exists."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
    else:
        os.fchmod(fd, FILE_MODE)
        os.close(fd)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a crash never leaves half a file) as a 0600 file."""
    path = Path(path)
    # Per process and thread: two writers of one entry never share a temporary file.
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)
            fh.write(text)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def tighten_tree(folder: Path, pattern: str = "*") -> None:
    """Files matching ``pattern`` directly in ``folder`` (made by older versions) to 0600."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for entry in folder.glob(pattern):
        if entry.is_file() and not entry.is_symlink():
            _tighten(entry, FILE_MODE)
