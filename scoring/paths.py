"""Checks on the paths a command reads and writes, before any work: inputs exist, no output is an input
or another output (by any path: links, ``..``, hard links), every output can be written where it goes."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .errors import UsageError

_WHY = {errno.EACCES: "没有写入权限", errno.EPERM: "没有写入权限", errno.EROFS: "位于只读的磁盘或文件系统",
        errno.ENOSPC: "磁盘已满", errno.EDQUOT: "超出磁盘配额", errno.ENOENT: "不能在其中创建文件"}


def _same(a: Path, b: Path) -> bool:
    """The same file by any path: equal after resolving links, or one file under two names (hard link)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _input_files(inputs: list[Path]) -> list[Path]:
    out = []
    for p in inputs:
        out.append(p)
        if p.is_dir():
            out += [c for c in p.resolve().rglob("*") if c.is_file()]
    return out


def check_writable_folder(folder: Path, what: str = "输出文件夹") -> None:
    """A folder that exists and where a file can be created (tried, not guessed from permission bits:
    a read-only mount or an ACL says no only when asked)."""
    if not folder.exists():
        raise UsageError(f"{what} {folder} 不存在")
    if not folder.is_dir():
        raise UsageError(f"{what} {folder} 不是文件夹")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        reason = _WHY.get(e.errno, e.strerror or type(e).__name__)
        raise UsageError(f"{what} {folder} 无法写入（{reason}），请换一个有写入权限的位置") from None


def check_paths(inputs: list[Path], outputs: list[Path]) -> None:
    """Raise a Chinese UsageError when an input is missing, an output would overwrite an input (a file
    given, or any file inside a folder given) or another output, is a folder, or lies in a folder that
    does not exist or cannot be written."""
    for p in inputs:
        if not p.exists():
            raise UsageError(f"找不到数据：{p}")
    files = _input_files(inputs)
    resolved = {f.resolve() for f in files}
    for i, o in enumerate(outputs):
        if o.resolve() in resolved or (o.exists() and any(_same(o, f) for f in files)):
            raise UsageError(f"输出文件 {o} 是输入数据之一，不能覆盖输入文件；请用 -o 指定其他路径")
        for other in outputs[:i]:
            if _same(o, other):
                which = f"{o} 被指定了两次" if str(o) == str(other) else f"{other} 和 {o} 是同一个文件"
                raise UsageError(f"输出文件重复：{which}，请为每个输出指定不同的文件名")
        if o.exists() and o.is_dir():
            raise UsageError(f"输出路径 {o} 是一个文件夹")
        check_writable_folder(o.parent if str(o.parent) else Path("."))


def code_and_rubric(rubric, plugins) -> list[Path]:
    """The rubric file (when given as a path) and the plugin files a command reads: inputs that no output
    may overwrite."""
    files = [Path(p) for p in plugins or []]
    if rubric is not None and Path(rubric).is_file():
        files.append(Path(rubric))
    return files
