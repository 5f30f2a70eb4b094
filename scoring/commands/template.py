"""``scoring template [-r RUBRIC] -o template.xlsx``: the data-collection template for a rubric."""

from __future__ import annotations

from pathlib import Path

from ..engine import load
from ..errors import UsageError
from ..output.template import write_template
from ..paths import check_paths, code_and_rubric


def main_template(rubric_spec: str | None, out: Path, plugins: list[Path], execute_plugins: bool = True) -> Path:
    """``scoring template [-r RUBRIC] -o template.xlsx``: load the rubric and its plugins, write the template."""
    out = Path(out)
    if out.exists() and out.is_dir():
        raise UsageError(f"输出路径 {out} 是一个文件夹，请指定工作簿文件名，如 {out / '数据采集模板.xlsx'}")
    if out.suffix.lower() != ".xlsx":
        raise UsageError(f"模板文件名应以 .xlsx 结尾：{out}")
    if not out.parent.exists():
        raise UsageError(f"输出文件夹 {out.parent} 不存在")
    rubric, registry, _shown = load(rubric_spec, list(plugins), execute_plugins)
    write_template(rubric, registry, out)
    return out


def cmd(a) -> int:
    check_paths(code_and_rubric(a.rubric, a.plugin), [a.output])
    p = main_template(a.rubric, a.output, a.plugin, execute_plugins=a.allow_plugins)
    print(f"已生成数据采集模板：{p}")
    return 0
