"""``scoring sample [--branches N] -o DIR [--format xlsx|parquet|csv] [--seed S] [--year Y]``."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..paths import check_writable_folder
from ..sample import FORMATS, generate_county, iter_sample, write_dataset


def main_sample(branches: int, out: Path, fmt: str, seed: int, year: int) -> list[Path]:
    """``scoring sample``: generate the sample county and write it into directory ``out``."""
    if fmt not in FORMATS:
        raise UsageError(f"不支持的输出格式「{fmt}」，可选：xlsx、parquet、csv")
    if int(branches) < 1:
        raise UsageError(f"支部数量必须是正整数，收到：{branches}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"输出位置「{out}」已存在且不是文件夹")
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        return write_dataset(generate_county(int(branches), seed=seed, year=year), out / f"county_{year}.xlsx", "xlsx")
    # Parquet and CSV: each table written as it is made, then dropped (a province is never held at once)
    return write_dataset(iter_sample(int(branches), seed=seed, year=year), out, fmt)


def cmd(a) -> int:
    if a.branches < 1:
        raise UsageError("--branches 必须是正整数")
    existing = next(p for p in [a.output, *a.output.absolute().parents] if p.exists())
    if existing != a.output or a.output.is_dir():
        check_writable_folder(existing)
    paths = main_sample(a.branches, a.output, a.format, a.seed, a.year)
    for p in paths:
        print(f"已生成：{p}")
    return 0
