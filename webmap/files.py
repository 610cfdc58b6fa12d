"""The user's files: read so that none can stall or exhaust a command, written so that none is destroyed.

Readers (``webmap import``, ``webmap extract FILE``, ``webmap gazetteer import``) accept only
regular files: a FIFO would block forever, ``/dev/zero`` or ``/dev/urandom`` never end. What they
read is capped: a whole file they hold in memory by :func:`check_input_file`'s ``max_bytes``, a
streamed file by the length of each line (:func:`capped_lines`). Errors are
:class:`~webmap.errors.UnreadableFile` naming the file.

A file a command writes at a path the user gives (``webmap export -o``) goes through
:func:`replace_file`: never over a symbolic link, a FIFO, a device or a protected file (the
database), over an existing file only when asked, and always whole (written beside it, then
renamed over it in one step). Errors are :class:`~webmap.errors.UnwritableFile`.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TextIO, TypeVar

from .errors import UnreadableFile, UnwritableFile

T = TypeVar("T")
EXISTS = "exists: give --overwrite to replace it"


def check_input_file(path: Path | str, max_bytes: int | None = None) -> int:
    """The size in bytes of ``path``, a regular file (a symbolic link to one is followed) of at most
    ``max_bytes``; :class:`UnreadableFile` saying what it is instead."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UnreadableFile(path, "cannot read: no such file") from None
    except OSError as exc:
        raise UnreadableFile(path, f"cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableFile(path, f"not a regular file (it is {_kind(info.st_mode)})")
    if max_bytes is not None and info.st_size > max_bytes:
        raise UnreadableFile(path, f"{info.st_size:,} bytes; the limit is {max_bytes:,}")
    return info.st_size


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def read_capped(stream: BinaryIO, max_bytes: int, name: str) -> bytes:
    """All of ``stream`` (a regular file or standard input), refusing with :class:`UnreadableFile`
    once it passes ``max_bytes``: only ``max_bytes`` + 1 bytes are ever read."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnreadableFile(name, f"more than {max_bytes:,} bytes, the limit")
    return data


def capped_lines(text: TextIO, max_chars: int, name: str) -> Iterator[str]:
    """The lines of ``text`` (with their endings), refusing with :class:`UnreadableFile` a line
    longer than ``max_chars``: a file without line breaks is never read whole."""
    number = 0
    while line := text.readline(max_chars + 1):
        number += 1
        if len(line) > max_chars:
            raise UnreadableFile(name, f"line {number} is longer than {max_chars:,} characters")
        yield line


def replace_file(
    path: Path | str, write: Callable[[Path], T], *, overwrite: bool = False, protected: Iterable[Path] = ()
) -> T:
    """``write(temporary path)`` in ``path``'s folder, then that file renamed to ``path`` (atomic); what
    ``write`` returned.

    :class:`UnwritableFile` before anything is written when ``path`` is a symbolic link, not a
    regular file (a FIFO, a device, a folder), one of ``protected`` (by name, through any symbolic
    link, or by identity: a hard link), or an existing file without ``overwrite``; or when the folder
    is missing or cannot be written. A failed ``write`` leaves ``path`` as it was.
    """
    path = Path(path)
    _check_output(path, overwrite, list(protected))
    temporary = _reserve_beside(path)
    try:
        result = write(temporary)
        if not overwrite and os.path.lexists(path):  # made while this was written
            raise UnwritableFile(path, EXISTS)
        os.replace(temporary, path)
    except OSError as exc:
        raise UnwritableFile(path, f"cannot write: {exc.strerror or exc}") from None
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
    return result


def _check_output(path: Path, overwrite: bool, protected: list[Path]) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UnwritableFile(path, f"cannot write: {exc.strerror}") from None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise UnwritableFile(path, "is a symbolic link: give the path of a file, not of a link")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise UnwritableFile(path, f"is not a regular file (it is {_kind(info.st_mode)})")
    target = path.resolve()
    for kept in protected:
        same = target == kept.resolve() or (info is not None and kept.exists() and os.path.samefile(path, kept))
        if same:
            raise UnwritableFile(path, "is the database webmap reads (WEBMAP_DB): choose another file")
    if info is not None and not overwrite:
        raise UnwritableFile(path, EXISTS)
    if not path.parent.is_dir():
        raise UnwritableFile(path, f"no such folder {path.parent}")


def _reserve_beside(path: Path) -> Path:
    """A new empty file next to ``path``, with a short name of its own (``path``'s may be as long as the
    system allows) and the permissions a new file gets."""
    while True:
        candidate = path.with_name(f".webmap-{secrets.token_hex(6)}{path.suffix[:16]}")
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        except OSError as exc:
            raise UnwritableFile(path, f"cannot write in {path.parent}: {exc.strerror}") from None
        return candidate
