"""Atomic writes: every output file is written to a temporary name beside its target and renamed into
place only when complete. A reader never sees a half-written file, and an existing file is left exactly
as it was when writing fails or is interrupted (including SIGINT; see :func:`atomic_output`).

Every writer uses :func:`atomic_output`: the results workbook and JSON, the self-check workbook, the
template, filled templates and the sample county. Writers of a folder of files (Parquet results, one
workbook per township) use :func:`atomic_folder`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path


def _default_mode() -> int:
    """The permission bits a normally created file would get (0o666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# An interrupt (Ctrl+C, or SIGTERM, which the command turns into the same abort: scoring.cli) that arrives
# while the main thread creates a temporary output and keeps its name is held back until the name is
# kept, so that the cleanup always knows what to remove. Signal handlers run in the main thread: only
# its own critical sections hold them back.
_held = 0
_pending: BaseException | None = None


def interrupt(exc: BaseException) -> None:
    """Raise ``exc`` (from a signal handler), or once the main thread's critical section ends."""
    global _pending
    if _held:
        _pending = exc
        return
    raise exc


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """A critical section for :func:`interrupt` (in the main thread; elsewhere signals do not arrive)."""
    global _held, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending is not None:
            exc, _pending = _pending, None
            raise exc


@contextlib.contextmanager
def atomic_output(path: Path | str, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; on success move it onto ``path``.

    The temporary file lives in the same directory so that ``os.replace`` is an atomic rename. On any
    exception the temporary file is removed and the exception propagates; an existing ``path`` is left
    exactly as it was. ``suffix`` defaults to the target's own (some writers pick the format by it).
    """
    path = Path(path)
    suffix = path.suffix if suffix is None else suffix
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        with _signals_held():  # the file and its name together: an interrupt sees both or neither
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=suffix)
            os.close(fd)
            tmp = Path(name)
        yield tmp
        # NamedTemporaryFile creates the file 0600; give the result the permissions of an ordinary file,
        # or keep those of the file being replaced.
        mode = path.stat().st_mode & 0o777 if path.exists() else _default_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_folder(folder: Path | str, remove: Callable[[set[str]], Iterable[str]] | None = None) -> Iterator[Path]:
    """Yield a temporary folder beside ``folder``; when the block succeeds, move every file written there
    into ``folder`` (created when missing; a file of the same name is replaced, others are kept).
    ``remove(names written)`` names further files of ``folder`` to delete in the same step (the files of
    an earlier write that this one does not write again).

    All or nothing: the files replaced or removed are first moved aside into a second temporary folder;
    when any move fails (a workbook held open by Excel on Windows, a full disk) the ones already moved
    are put back and ``folder`` is left exactly as it was, as it is on any exception in the block. Each
    file is complete when it appears (a rename), and the files appear one right after the other."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    aside: Path | None = None
    try:
        with _signals_held():
            tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
        yield tmp
        created = not folder.exists()
        folder.mkdir(exist_ok=True)
        aside = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old."))
        written = sorted(f.name for f in tmp.iterdir())
        gone = sorted(set(remove(set(written)) if remove is not None else ()) - set(written))
        mode = _default_mode()
        done: list[tuple[str, bool]] = []  # (name, had an earlier file now in aside), in the order moved
        try:
            for name in gone:
                if (folder / name).exists():
                    os.replace(folder / name, aside / name)
                    done.append((name, True))
            for name in written:
                target = folder / name
                had = target.exists()
                os.chmod(tmp / name, target.stat().st_mode & 0o777 if had else mode)
                if had:
                    os.replace(target, aside / name)
                done.append((name, had))
                os.replace(tmp / name, target)
        except BaseException:
            for name, had in reversed(done):  # put everything back as it was
                with contextlib.suppress(OSError):
                    if had:
                        os.replace(aside / name, folder / name)
                    elif (folder / name).exists() and not (tmp / name).exists():
                        os.replace(folder / name, tmp / name)
            if created:
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
