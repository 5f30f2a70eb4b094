"""Checks on the paths a command reads and writes, before any work: inputs exist, no output is an input."""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError


def check_paths(inputs: list[Path], outputs: list[Path]) -> None:
    """Raise a Chinese UsageError when an input is missing or an output would overwrite an input (a file
    given, or any file inside a folder given), is a folder, or lies in a folder that does not exist."""
    for p in inputs:
        if not p.exists():
            raise UsageError(f"找不到数据：{p}")
    ins = set()
    for p in inputs:
        rp = p.resolve()
        ins.add(rp)
        if rp.is_dir():
            ins |= {c.resolve() for c in rp.rglob("*") if c.is_file()}
    for o in outputs:
        if o.resolve() in ins:
            raise UsageError(f"输出文件 {o} 是输入数据之一，不能覆盖输入文件；请用 -o 指定其他路径")
        if o.exists() and o.is_dir():
            raise UsageError(f"输出路径 {o} 是一个文件夹")
        if not o.parent.exists():
            raise UsageError(f"输出文件夹 {o.parent} 不存在")
