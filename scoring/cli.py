"""Command line: ``scoring run|plugins|sample`` (contract: product.md section 6).

Exit status: 0 success; 1 the data had errors (all listed, nothing written); 2 usage, rubric or plugin
errors. A user's mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from . import __version__
from .errors import ScoringError, UsageError
from .paths import check_paths

_ARGPARSE_ZH = (
    ("the following arguments are required: ", "缺少必需的参数："),
    ("unrecognized arguments: ", "无法识别的参数："),
    ("invalid choice: ", "无效的选项："),
    ("invalid int value: ", "应为整数："),
    ("expected one argument", "需要一个参数值"),
    ("choose from ", "可选："),
    ("argument ", "参数 "),
)


class _Parser(argparse.ArgumentParser):
    """argparse in Chinese: headings, the help option and usage errors (exit 2)."""

    def __init__(self, *args, **kwargs):
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示帮助并退出")

    def format_usage(self):
        return super().format_usage().replace("usage:", "用法：", 1)

    def format_help(self):
        return super().format_help().replace("usage:", "用法：", 1)

    def error(self, message):  # Chinese usage errors, exit 2
        for en, zh in _ARGPARSE_ZH:
            message = message.replace(en, zh)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: 用法错误：{message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="scoring", description="党支部年度考核评分引擎：评分标准（TOML）+ 支部记录（Excel）→ 排名与逐项得分说明")
    p.add_argument("--version", action="version", version=f"scoring {__version__}", help="显示版本并退出")
    sub = p.add_subparsers(dest="command", metavar="命令", parser_class=_Parser)

    run = sub.add_parser("run", help="评分并输出结果工作簿", description="读取支部记录，按评分标准评分，输出结果工作簿（和 JSON）")
    run.add_argument("data", nargs="+", type=Path, metavar="DATA", help="数据：工作簿、CSV/Parquet 文件夹，或各支部工作簿所在的文件夹")
    run.add_argument("-r", "--rubric", default=None, help="评分标准文件路径或内置名称（默认 five_star）")
    run.add_argument("-o", "--output", type=Path, default=Path("results.xlsx"), help="结果工作簿路径（默认 results.xlsx）")
    run.add_argument("--json", type=Path, default=None, help="同时输出 JSON 结果到此路径")
    run.add_argument("--previous", type=Path, default=None,
                     help="上一年度的结果（JSON 或结果工作簿），用于比较排名变化、升星降星")
    run.add_argument("--year", type=int, default=None, help="考核年度（默认取评分标准中的 year）")
    run.add_argument("--plugin", type=Path, action="append", default=[], help="加载本地插件文件（可多次使用）")
    run.add_argument("--title", default=None, help="结果标题，如「示例县2025年度党支部考核结果」")
    run.add_argument("--lenient", action="store_true",
                     help="宽松模式：数据有误的支部列为“未评定”并写明原因，其余支部照常评分排名（缺少工作表等全局错误仍会停止）")
    run.add_argument("-q", "--quiet", action="store_true", help="不显示进度和摘要")

    pl = sub.add_parser("plugins", help="列出全部测量项及其插件、输入和参数")
    pl.add_argument("--plugin", type=Path, action="append", default=[], help="加载本地插件文件（可多次使用）")

    sc = sub.add_parser("self-check", help="单个支部自检：得分、失分原因与升星路径",
                        description="支部书记自检：计算本支部得分和等级，列出每一处失分及原因，给出达到下一等级的最省路径")
    sc.add_argument("data", nargs="+", type=Path, metavar="DATA", help="数据：工作簿、CSV/Parquet 文件夹，或工作簿文件夹")
    sc.add_argument("-b", "--branch", required=True, help="支部编码")
    sc.add_argument("-r", "--rubric", default=None, help="评分标准文件路径或内置名称（默认 five_star）")
    sc.add_argument("-o", "--output", type=Path, default=None, help="自检工作簿路径（默认 selfcheck_<支部编码>.xlsx）")
    sc.add_argument("--year", type=int, default=None, help="考核年度（默认取评分标准中的 year）")
    sc.add_argument("--plugin", type=Path, action="append", default=[], help="加载本地插件文件（可多次使用）")

    tp = sub.add_parser("template", help="生成与评分标准配套的数据采集模板（含填表说明和下拉选项）")
    tp.add_argument("-r", "--rubric", default=None, help="评分标准文件路径或内置名称（默认 five_star）")
    tp.add_argument("-o", "--output", type=Path, required=True, help="模板工作簿路径，如 template.xlsx")
    tp.add_argument("--plugin", type=Path, action="append", default=[], help="加载本地插件文件（可多次使用）")

    rb = sub.add_parser("rubric", help="评分标准：检查、查看、对比、JSON Schema")
    rsub = rb.add_subparsers(dest="rubric_command", metavar="子命令", parser_class=_Parser)
    rc = rsub.add_parser("check", help="检查评分标准并显示摘要")
    rc.add_argument("rubric", nargs="?", default=None, help="评分标准文件路径或内置名称（默认 five_star）")
    rc.add_argument("--plugin", type=Path, action="append", default=[], help="加载本地插件文件（可多次使用）")
    rs = rsub.add_parser("show", help="显示合并继承（extends）之后的完整评分标准（TOML）")
    rs.add_argument("rubric", nargs="?", default=None, help="评分标准文件路径或内置名称（默认 five_star）")
    rs.add_argument("--plugin", type=Path, action="append", default=[], help="加载本地插件文件（可多次使用）")
    rd = rsub.add_parser("diff", help="对比两个评分标准（如本县标准与省标准）")
    rd.add_argument("a", help="原评分标准")
    rd.add_argument("b", help="新评分标准")
    rd.add_argument("--plugin", type=Path, action="append", default=[], help="加载本地插件文件（可多次使用）")
    rj = rsub.add_parser("schema", help="输出评分标准文件的 JSON Schema（供编辑器补全和检查）")
    rj.add_argument("-o", "--output", type=Path, default=None, help="写入文件（默认输出到屏幕）")

    sm = sub.add_parser("sample", help="生成示例县数据", description="按固定随机种子生成示例县的全部数据表")
    sm.add_argument("--branches", type=int, default=320, help="支部数量（默认 320）")
    sm.add_argument("-o", "--output", type=Path, required=True, help="输出文件夹")
    sm.add_argument("--format", choices=("xlsx", "parquet", "csv"), default="xlsx", help="输出格式（默认 xlsx）")
    sm.add_argument("--seed", type=int, default=2025, help="随机种子（默认 2025）")
    sm.add_argument("--year", type=int, default=2025, help="考核年度（默认 2025）")
    return p


def _say(quiet: bool, *lines: str) -> None:
    if not quiet:
        for line in lines:
            print(line)


def cmd_run(a) -> int:
    from .engine import Timer, build_meta, load, needed_tables, require_branches, score
    from .output.jsonout import write_json
    from .output.xlsx import write_results
    from .reader import read_dataset

    outputs = [a.output] + ([a.json] if a.json else [])
    check_paths(a.data + ([a.previous] if a.previous else []), outputs)
    previous = None
    if a.previous is not None:
        from .previous import load_previous

        previous = load_previous(a.previous)
    timer = Timer(quiet=a.quiet)
    with timer("rubric"):
        rubric, reg, shown = load(a.rubric, a.plugin)
    year = a.year or rubric.year
    data = read_dataset(a.data, reg.tables, needed_tables(rubric, reg), timer=timer, lenient=a.lenient)
    require_branches(data, a.data)
    command = "scoring " + " ".join(shlex.quote(x) for x in sys.argv[1:])
    meta = build_meta(rubric, reg, data, year, command, a.title)
    excluded = data.excluded
    if len(excluded):
        meta["excluded"] = excluded
    result = score(rubric, reg, data, year, meta, timer)
    if previous is not None:
        from .previous import attach

        attach(result, previous)
    with timer("write"):
        write_results(result, a.output)
        if a.json:
            write_json(result, a.json)
    timer.close()
    b = result.branches
    prev_line = []
    if previous is not None:
        ch = result.meta["previous"]["升降"].value_counts()
        up = int(ch.get("升星", 0) + ch.get("升级", 0))
        down = int(ch.get("降星", 0) + ch.get("降级", 0))
        prev_line = [f"与上年相比：升级（升星）{up} 个，降级（降星）{down} 个，新参评 {int(ch.get('新参评', 0))} 个，"
                     f"上年参评而今年未参评 {len(result.meta['gone'])} 个"]
    counts = b["level"].value_counts()
    order = [lv.label for lv in rubric.grading.levels] + [rubric.grading.unrated_label]
    summary = "，".join(f"{lv}{int(counts[lv])}个" for lv in order if lv in counts)
    _say(a.quiet,
         f"评分标准：{rubric.name}（{shown}，版本 {rubric.version}），考核年度 {year}",
         f"参评支部 {len(b)} 个：{summary}",
         f"否决或标记：{int((b['flags'] != '').sum())} 个支部有标记，{int((~b['rated']).sum())} 个支部不评定等级；"
         f"{int((b['quota_note'] != '').sum())} 个支部因名额限制调整等级",
         *([f"因数据有误未评定 {len(excluded)} 个支部（原因见结果工作簿「数据质量」）：{'、'.join(excluded['branch_id'].astype(str))}"]
           if len(excluded) else []),
         *prev_line,
         f"结果已写入：{a.output}" + (f"，{a.json}" if a.json else ""))
    return 0


def cmd_plugins(a) -> int:
    from .registry import make_registry

    reg = make_registry(list(a.plugin))
    print(f"共 {len(reg.measures)} 个测量项：")
    for m in sorted(reg.measures.values(), key=lambda m: (m.plugin, m.id)):
        inputs = "；".join(f"{reg.tables[t].sheet}（{'、'.join(reg.tables[t].column(c).header for c in cols)}）"
                          for t, cols in m.inputs.items())
        print(f"\n{m.id}  {m.name}  [插件：{m.plugin}]")
        print(f"  说明：{m.description}")
        print(f"  单位：{m.unit or '—'}  读取：{inputs}")
        if m.params:
            for k, p in m.params.items():
                print(f"  参数 {k}（默认 {p.default!r}）：{p.description}")
        else:
            print("  参数：无")
    return 0


def cmd_sample(a) -> int:
    from .sample import main_sample

    if a.branches < 1:
        raise UsageError("--branches 必须是正整数")
    paths = main_sample(a.branches, a.output, a.format, a.seed, a.year)
    for p in paths:
        print(f"已生成：{p}")
    return 0


def cmd_self_check(a) -> int:
    from .selfcheck_cmd import main_selfcheck

    return main_selfcheck(a.data, a.branch, a.rubric, a.output, a.plugin, None, year=a.year)


def cmd_template(a) -> int:
    from .output.template import main_template

    p = main_template(a.rubric, a.output, a.plugin)
    print(f"已生成数据采集模板：{p}")
    return 0


def cmd_rubric(a) -> int:
    from . import rubric_tools
    from .engine import load
    from .rubric import dump_toml

    if a.rubric_command == "check":
        r, reg, shown = load(a.rubric, a.plugin)
        print(rubric_tools.check_summary(r, shown, reg))
    elif a.rubric_command == "show":
        r, _, shown = load(a.rubric, a.plugin)
        print(f"# {shown} 合并继承后的完整评分标准（{r.name}，版本 {r.version}）")
        print(dump_toml(r), end="")
    elif a.rubric_command == "diff":
        ra, _, sa = load(a.a, a.plugin)
        rb, reg_b, sb = load(a.b, a.plugin)
        print(rubric_tools.diff(ra, rb, sa, sb, reg_b)[0])
    elif a.rubric_command == "schema":
        import json

        text = json.dumps(rubric_tools.json_schema(), ensure_ascii=False, indent=2) + "\n"
        if a.output:
            a.output.write_text(text, encoding="utf-8")
            print(f"JSON Schema 已写入：{a.output}")
        else:
            print(text, end="")
    else:
        raise UsageError("请指定子命令：check、show、diff 或 schema（例如 scoring rubric check five_star）")
    return 0


COMMANDS = {"run": cmd_run, "plugins": cmd_plugins, "sample": cmd_sample, "rubric": cmd_rubric,
            "template": cmd_template, "self-check": cmd_self_check}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    a = parser.parse_args(argv)
    if not a.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[a.command](a)
    except ScoringError as e:
        print(str(e), file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # output piped into head and closed early
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("已中断，未写入结果。", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
