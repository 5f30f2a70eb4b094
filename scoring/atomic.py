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
from collections.abc import Iterator
from pathlib import Path


def _default_mode() -> int:
    """The permission bits a normally created file would get (0o666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


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
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.stem}.", suffix=suffix, delete=False) as handle:
        tmp = Path(handle.name)
    try:
        yield tmp
        # NamedTemporaryFile creates the file 0600; give the result the permissions of an ordinary file,
        # or keep those of the file being replaced.
        mode = path.stat().st_mode & 0o777 if path.exists() else _default_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_folder(folder: Path | str) -> Iterator[Path]:
    """Yield a temporary folder beside ``folder``; when the block succeeds, move every file written there
    into ``folder`` (created when missing; a file of the same name is replaced, others are kept). On any
    exception the temporary folder is removed and ``folder`` is left exactly as it was. Each file is
    complete when it appears (a rename), and the files appear one right after the other at the end."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        yield tmp
        folder.mkdir(exist_ok=True)
        mode = _default_mode()
        for f in sorted(tmp.iterdir()):
            target = folder / f.name
            os.chmod(f, target.stat().st_mode & 0o777 if target.exists() else mode)
            os.replace(f, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
