"""Atomic writes: every output file is written to a temporary name beside its target and renamed into
place only when complete. A reader never sees a half-written file, and an existing file is left exactly
as it was when writing fails or is interrupted (including SIGINT; see :func:`atomic_output`).

Every writer uses :func:`atomic_output`: the results workbook and JSON, the self-check workbook, the
template, filled templates and the sample county.
"""

from __future__ import annotations

import contextlib
import os
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
