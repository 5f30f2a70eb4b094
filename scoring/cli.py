"""Command line: ``scoring run|plugins|sample`` (contract: product.md section 6).

Exit status: 0 success; 1 the data had errors (all listed, nothing written); 2 usage, rubric or plugin
errors. A user's mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from pathlib import Path

from . import __version__
from .atomic import interrupt
from .errors import ScoringError

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


def _date_arg(text: str):
    from .publish.dates import parse_date

    try:
        return parse_date(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _publish_options(p, heading: str) -> None:
    """The 公示 options, shared by ``publish`` and ``run --publish``."""
    g = p.add_argument_group(heading)
    g.add_argument("--by", choices=("parent",), default=None, help="另为每个上级党组织（乡镇、街道）各生成一份公示")
    g.add_argument("--order", choices=("rank", "parent"), default="rank",
                   help="全县名单的排列：rank 按得分从高到低（默认），parent 按上级党组织分组")
    g.add_argument("--template", type=Path, default=None, metavar="T.docx", help="公示的 Word 模板（.docx，Jinja 标记；默认用内置模板）")
    g.add_argument("--internal-template", type=Path, default=None, metavar="T.docx", help="内部名单的 Word 模板（.docx）")
    g.add_argument("--date", type=_date_arg, default=None, metavar="YYYY-MM-DD", help="落款日期（默认今天），如 2026-01-05")
    g.add_argument("--from", dest="period_from", type=_date_arg, default=None, metavar="YYYY-MM-DD",
                   help="公示开始日期（默认落款日期，遇周末顺延到周一）")
    g.add_argument("--to", dest="period_to", type=_date_arg, default=None, metavar="YYYY-MM-DD",
                   help="公示结束日期（默认开始后第 5 个工作日；只按周一至周五计算，不知道法定节假日，遇节假日请指定）")
    g.add_argument("--days", type=int, default=5, metavar="N", help="默认公示期的工作日数（默认 5）")
    g.add_argument("--committee", default=None, metavar="单位", help="全县公示的落款和受理单位，如「中共示例县委组织部」")
    g.add_argument("--contact", default=None, metavar="电话", help="联系电话，如「0000-1234567」")
    g.add_argument("--no-pdf", action="store_true", help="只生成 Word 文档，不转换 PDF（无需 LibreOffice）")


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
    run.add_argument("--parquet", type=Path, default=None, metavar="DIR",
                     help="同时把结果表（支部、维度、指标、加分、否决、预警）写成 Parquet 文件到此文件夹，供下游系统使用")
    run.add_argument("--no-xlsx", action="store_true", help="不写结果工作簿（只要 JSON 或 Parquet 结果时）")
    run.add_argument("--split", choices=("parent",), default=None,
                     help="parent：结果工作簿按上级党组织拆分，每个上级党组织一个工作簿（只含其所属支部，排名和名额仍按全部支部），"
                          "另加汇总.xlsx，写入与 -o 同名的「…-按上级党组织」文件夹（如 results-按上级党组织/）")
    run.add_argument("--executor", choices=("local", "dask"), default="local",
                     help="计算方式：local 本机（默认）；dask 按支部分区并行计算（需安装 pip install \".[dask]\"）")
    run.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="Dask 集群调度器地址（如 tcp://10.0.0.5:8786）；不指定时在本机启动 LocalCluster")
    run.add_argument("--workers", type=int, default=None,
                     help="本机 LocalCluster 的工作进程数（默认为 CPU 核数）；也是数据分区数的基数")
    run.add_argument("-q", "--quiet", action="store_true", help="不显示进度和摘要")
    run.add_argument("--publish", type=Path, default=None, metavar="DIR",
                     help="同时在此文件夹生成公示（Word 和 PDF）及内部名单，选项见下")
    _publish_options(run, "公示选项（与 --publish 一起使用）")

    pb = sub.add_parser("publish", help="生成公示（Word 和 PDF，全县及各乡镇）和内部的整顿、软弱涣散候选名单",
                        description="由 scoring run --json 的结果文件（或直接由支部记录评分）生成评定结果公示："
                                    "全县一份，加 --by parent 每个上级党组织各一份；另生成不公开的软弱涣散和整顿候选名单")
    pb.add_argument("data", nargs="+", type=Path, metavar="RESULTS.json|DATA",
                    help="scoring run --json 写出的结果文件，或支部记录（工作簿、CSV/Parquet 文件夹、工作簿文件夹）")
    pb.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="输出文件夹")
    pb.add_argument("-r", "--rubric", default=None, help="评分标准（输入为支部记录时；默认 five_star）")
    pb.add_argument("--year", type=int, default=None, help="考核年度（输入为支部记录时；默认取评分标准中的 year）")
    pb.add_argument("--plugin", type=Path, action="append", default=[], help="加载本地插件文件（可多次使用）")
    pb.add_argument("--lenient", action="store_true", help="宽松模式（输入为支部记录时），同 scoring run --lenient")
    pb.add_argument("-q", "--quiet", action="store_true", help="不显示摘要")
    _publish_options(pb, "公示选项")

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
    _allow_plugins(tp)

    rb = sub.add_parser("rubric", help="评分标准：检查、查看、对比、JSON Schema")
    rsub = rb.add_subparsers(dest="rubric_command", metavar="子命令", parser_class=_Parser)
    rc = rsub.add_parser("check", help="检查评分标准并显示摘要")
    rc.add_argument("rubric", nargs="?", default=None, help="评分标准文件路径或内置名称（默认 five_star）")
    rc.add_argument("--plugin", type=Path, action="append", default=[], help="加载本地插件文件（可多次使用）")
    _allow_plugins(rc)
    rc.add_argument("--data", type=Path, nargs="+", default=None, metavar="DATA",
                    help="同时用这些支部记录检查（名额为0的范围、数据达不到的满分）")
    rc.add_argument("--year", type=int, default=None, help="考核年度（默认评分标准的 year）")
    rs = rsub.add_parser("show", help="显示合并继承（extends）之后的完整评分标准（TOML）")
    rs.add_argument("rubric", nargs="?", default=None, help="评分标准文件路径或内置名称（默认 five_star）")
    rs.add_argument("--plugin", type=Path, action="append", default=[], help="加载本地插件文件（可多次使用）")
    _allow_plugins(rs)
    rd = rsub.add_parser("diff", help="对比两个评分标准（如本县标准与省标准）；加 --data 看对实际数据的影响",
                         description="对比两个评分标准的规则差异；加 --data 时用同一份支部记录分别按两个标准评分，"
                                     "列出等级、总分、排名变化的支部及原因（哪些指标得分变了）、各等级支部数和名额的变化")
    rd.add_argument("a", help="原评分标准")
    rd.add_argument("b", help="新评分标准")
    rd.add_argument("--plugin", type=Path, action="append", default=[], help="加载本地插件文件（可多次使用）")
    _allow_plugins(rd)
    rd.add_argument("--data", nargs="+", type=Path, default=[], metavar="DATA",
                    help="支部记录（工作簿、CSV/Parquet 文件夹或工作簿文件夹）：按两个标准分别评分并对比结果"
                         "（评分标准带本地插件时需加 --allow-plugins 才运行插件代码，并列出运行了哪些）")
    rd.add_argument("-o", "--output", type=Path, default=None, metavar="impact.xlsx",
                    help="与 --data 一起使用：把对比结果写入工作簿（影响汇总、支部对比、指标得分变化、规则差异）")
    rd.add_argument("--year", type=int, default=None, help="考核年度（默认取评分标准中的 year）")
    rd.add_argument("--lenient", action="store_true", help="宽松模式：数据有误的支部不参加对比，其余照常（同 scoring run --lenient）")
    rd.add_argument("-q", "--quiet", action="store_true", help="不显示进度")
    rj = rsub.add_parser("schema", help="输出评分标准文件的 JSON Schema（供编辑器补全和检查）")
    rj.add_argument("-o", "--output", type=Path, default=None, help="写入文件（默认输出到屏幕）")

    sv = sub.add_parser("serve", help="启动自检网页（支部书记上传工作簿自检；委员会查看结果）",
                        description="在内网启动自检网页：支部书记上传填好的数据采集模板，查看得分、失分原因和升星路径；"
                                    "考评委员会按乡镇查看评分结果。需先安装网页组件：pip install \".[web]\"")
    sv.add_argument("-r", "--rubric", default=None, help="评分标准文件路径或内置名称（默认 five_star）；启动后不可更改")
    sv.add_argument("--plugin", type=Path, action="append", default=[], help="加载本地插件文件（可多次使用）")
    sv.add_argument("--year", type=int, default=None, help="考核年度（默认取评分标准中的 year）")
    sv.add_argument("--data", type=Path, nargs="+", action="extend", default=[], metavar="DATA",
                    help="委员会查看的结果：scoring run --json 写出的结果 JSON，或全县数据（启动时评分）")
    sv.add_argument("--publish-dir", type=Path, default=None, help="公示文件所在文件夹（scoring publish 的输出），在委员会页面提供下载")
    sv.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1，仅本机；局域网开放用 0.0.0.0）")
    sv.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
    sv.add_argument("--max-upload-mb", type=float, default=20, help="每次上传文件的大小上限，单位 MB（默认 20）")
    sv.add_argument("--keep", type=Path, default=None, metavar="DIR",
                    help="把上传的文件和自检工作簿保存到此文件夹（默认不保存：处理完即删除）")

    sm = sub.add_parser("sample", help="生成示例县数据", description="按固定随机种子生成示例县的全部数据表")
    sm.add_argument("--branches", type=int, default=320, help="支部数量（默认 320）")
    sm.add_argument("-o", "--output", type=Path, required=True, help="输出文件夹")
    sm.add_argument("--format", choices=("xlsx", "parquet", "csv"), default="xlsx", help="输出格式（默认 xlsx）")
    sm.add_argument("--seed", type=int, default=2025, help="随机种子（默认 2025）")
    sm.add_argument("--year", type=int, default=2025, help="考核年度（默认 2025）")
    return p


def _allow_plugins(parser) -> None:
    parser.add_argument("--allow-plugins", action="store_true",
                        help="运行本地插件的代码（默认只读取插件中声明的测量项和数据表，不运行其代码）")


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager, ``kill``, a closed terminal session): the same clean abort as Ctrl+C, so
    every temporary output file is removed on the way out (see :mod:`scoring.atomic`)."""


def _on_sigterm(signum, frame):
    interrupt(Terminated())  # held back while a temporary output is being created (scoring.atomic)


def _on_sigint(signum, frame):
    interrupt(KeyboardInterrupt())


def _install(signum, handler):
    """Install a signal handler where Python allows it (the main thread); returns the one replaced."""
    try:
        return signal.signal(signum, handler)
    except ValueError:  # not the main thread (called from a server's worker)
        return None


# subcommand -> module of scoring.commands holding its ``cmd(args)`` (imported when the command runs)
COMMANDS = {"run": "run", "plugins": "plugins", "sample": "sample", "rubric": "rubric", "template": "template",
            "self-check": "selfcheck", "serve": "serve", "publish": "publish"}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    a = parser.parse_args(argv)
    if not a.command:
        parser.print_help()
        return 2
    previous = _install(signal.SIGTERM, _on_sigterm)
    previous_int = _install(signal.SIGINT, _on_sigint) if signal.getsignal(signal.SIGINT) is signal.default_int_handler \
        else None  # Python's own Ctrl+C (not a handler the caller installed, nor "ignore")
    try:
        module = importlib.import_module(f"scoring.commands.{COMMANDS[a.command]}")
        return module.cmd(a)
    except ScoringError as e:
        print(str(e), file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # output piped into head and closed early
        sys.stderr.close()
        return 0
    except KeyboardInterrupt as e:
        print("已中断，未写入结果。", file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
