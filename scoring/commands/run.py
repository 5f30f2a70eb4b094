"""``scoring run DATA... [-r RUBRIC] [-o results.xlsx] [--json results.json] ...``: score and write."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pandas as pd

from ..errors import UsageError
from ..paths import check_paths, code_and_rubric


def _say(quiet: bool, *lines: str) -> None:
    if not quiet:
        for line in lines:
            print(line)


def _outputs(a) -> list:
    """Every file the run writes (checked against the inputs and each other before any work)."""
    from ..output.parquet import output_files

    out = [] if a.no_xlsx or a.split else [a.output]
    if a.json:
        out.append(a.json)
    if a.parquet is not None and a.parquet.is_dir():
        out += output_files(a.parquet)  # files it would replace
    if a.split:
        from ..output.split import split_folder, workbooks

        out += workbooks(split_folder(a.output))  # those it would replace (the folder: see _check_folder)
    return out


def _part_previews(result, a):
    """The 公示预览 of each part of a split run: the notice of its 上级党组织 (with the --publish options when
    given, else today's date and placeholders), so each township's workbook previews its own notice."""
    from ..output.xlsx import NO_PARENT
    from ..publish.content import branches_frame
    from ..publish.preview import default_options, notice_blocks, results_heads

    if a.publish is not None:
        from ..publish.command import options_from_args

        options, template = options_from_args(a)[0], a.template
    else:
        options, template = default_options(), None
    heads = results_heads(result)
    frame = branches_frame(heads)  # once, not once per township (0.4 s each at 30,000 branches)

    def blocks(parent, part):
        if parent == NO_PARENT:  # branches without a 上级党组织: the notice of just those branches
            return notice_blocks(results_heads(part), options, template)[1]
        return notice_blocks(heads, options, template, parent=parent, frame=frame)[1]

    return blocks


def _check_folder(folder: Path, what: str, inputs: list[Path]) -> None:
    """An output folder: not a folder of the input, not a file, in (or itself) a writable folder."""
    from ..paths import check_writable_folder

    for p in inputs:
        if p.exists() and p.resolve().is_dir() and folder.resolve() == p.resolve():
            raise UsageError(f"{what} {folder} 是输入数据所在的文件夹，不能在其中写入结果；请指定其他文件夹")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{what} {folder} 已存在且不是文件夹")
    check_writable_folder(folder if folder.exists() else folder.resolve().parent, what)


_EXECUTION = {"--executor": 1, "--scheduler": 1, "--workers": 1}  # options that do not change the result


def _recorded(argv: list[str]) -> list[str]:
    """The command line as the result records it: without the options that only say where it is computed
    (a Dask run records the command of the local run it equals)."""
    out, skip = [], 0
    for x in argv:
        if skip:
            skip -= 1
            continue
        name = x.split("=", 1)[0]
        if name in _EXECUTION:
            skip = 0 if "=" in x else _EXECUTION[name]
            continue
        out.append(x)
    return out


def cmd(a) -> int:
    from ..engine import Timer, build_meta, fingerprint_alongside, load, read_for, require_branches, score
    from ..output.jsonout import write_json

    if a.no_xlsx and not (a.json or a.parquet):
        raise UsageError("使用 --no-xlsx 时请用 --json 或 --parquet 指定结果的输出位置")
    if a.split and a.no_xlsx:
        raise UsageError("--split 拆分的是结果工作簿，不能与 --no-xlsx 同时使用")
    if a.workers is not None and a.workers < 1:
        raise UsageError("--workers 必须是正整数")
    executor = "dask" if a.scheduler else a.executor
    if a.parquet is not None:  # before check_paths: a folder's files are checked there
        _check_folder(a.parquet, "Parquet 输出文件夹", a.data)
    if a.split:
        from ..output.split import check_folder_is_ours, split_folder, write_split

        split_to = split_folder(a.output)
        _check_folder(split_to, "拆分结果的文件夹", a.data)
    check_paths(a.data + ([a.previous] if a.previous else []) + code_and_rubric(a.rubric, a.plugin), _outputs(a))
    if a.split:
        check_folder_is_ours(split_to)
    if a.publish is not None:
        from ..publish.command import check_publish_args

        check_publish_args(a, a.publish)
    previous = None
    if a.previous is not None:
        from ..previous import load_previous

        previous = load_previous(a.previous)
    timer = Timer(quiet=a.quiet)
    with timer("rubric"):
        rubric, reg, shown = load(a.rubric, a.plugin)
    year = a.year or rubric.year
    ran = [*a.plugin, *rubric.plugins]  # local plugin files whose code ran: said in the summary
    command = "scoring " + " ".join(shlex.quote(x) for x in _recorded(sys.argv[1:]))
    if executor == "dask":
        from ..distributed import score_on_dask

        result = score_on_dask(a.data, a.rubric, a.plugin, year, command, a.title, timer, lenient=a.lenient,
                               scheduler=a.scheduler, workers=a.workers)
    else:
        data = read_for(a.data, (rubric, reg), timer=timer, lenient=a.lenient, year=year)
        require_branches(data, a.data)
        fingerprint = fingerprint_alongside(data)  # while measuring and evaluating
        with timer("validate"):  # the year check (build_meta's data notes), which the measures then reuse
            meta = build_meta(rubric, reg, data, year, command, a.title, fingerprint=False)
        result = score(rubric, reg, data, year, meta, timer)
        with timer("fingerprint"):  # what is left of it by now
            meta.data_sha256 = result.meta.data_sha256 = fingerprint()
        del data
    excluded = result.meta.excluded if result.meta.excluded is not None else pd.DataFrame({"branch_id": []})
    if previous is not None:
        from ..previous import attach

        attach(result, previous)
    preview = None
    if a.publish is not None:
        from ..publish.command import preview_for_run

        preview = preview_for_run(result, a)  # the workbook's 公示预览 says what the document says
    limits: list[str] = []
    written = []
    if a.split:
        with timer("write.xlsx"):
            split = write_split(result, split_to, previews=_part_previews(result, a))
        limits = split.limits
        written.append(f"{split.folder}（汇总.xlsx 及 {len(split.parts)} 个上级党组织的工作簿）")
    elif not a.no_xlsx:
        with timer("write.xlsx"):
            from ..output.xlsx import write_results

            limits = write_results(result, a.output, preview=preview)
        written.append(str(a.output))
    if a.json:
        with timer("write.json"):
            write_json(result, a.json)
        written.append(str(a.json))
    if a.parquet is not None:
        from ..output.parquet import write_parquet

        with timer("write.parquet"):
            write_parquet(result, a.parquet)
        written.append(f"{a.parquet}（Parquet）")
    timer.close()
    if a.publish is not None:
        from ..publish.command import publish_result

        publish_result(result, a, a.publish)
    b = result.branches
    prev_line = []
    if previous is not None:
        ch = result.meta.previous["升降"].value_counts()
        up = int(ch.get("升星", 0) + ch.get("升级", 0))
        down = int(ch.get("降星", 0) + ch.get("降级", 0))
        prev_line = [f"与上年相比：升级（升星）{up} 个，降级（降星）{down} 个，新参评 {int(ch.get('新参评', 0))} 个，"
                     f"上年参评而今年未参评 {len(result.meta.gone)} 个"]
    tie_lines = []
    tied = b[b["quota_tie"].astype(str) != ""] if "quota_tie" in b else b.iloc[0:0]
    for level, group in tied.groupby("quota_tie", sort=False):
        who = "、".join(f"{n}（{i}，{t:.{rubric.ranking.precision}f}分）" for i, n, t in
                       zip(group["branch_id"], group["name"], group["ranked_total"]))
        if rubric.ranking.ties_at_quota == "keep_all":
            tie_lines.append(f"注意：{len(group)}个支部总分并列于{level}名额线，按规则均评为{level}，"
                             f"多用{int(group['quota_extra'].max())}个名额：{who}")
        else:
            tie_lines.append(f"注意：{len(group)}个支部总分并列于{level}名额线，名额不足，均未评为{level}，需委员会决定：{who}")
    counts = b["level"].value_counts()
    order = [lv.label for lv in rubric.grading.levels] + [rubric.grading.unrated_label]
    summary = "，".join(f"{lv}{int(counts[lv])}个" for lv in order if lv in counts)
    for text in result.meta.rubric_warnings:  # always shown, even with -q: the committee must see them
        print(f"警告：{text}", file=sys.stderr)
    _say(a.quiet,
         f"评分标准：{rubric.name}（{shown}，版本 {rubric.version}），考核年度 {year}",
         *([f"已运行本地插件代码：{'、'.join(str(Path(p).resolve()) for p in ran)}"] if ran else []),
         f"参评支部 {len(b)} 个：{summary}",
         f"否决或标记：{int((b['flags'] != '').sum())} 个支部有标记，{int((~b['rated']).sum())} 个支部不评定等级；"
         f"{int((b['quota_note'] != '').sum())} 个支部因名额限制调整等级",
         *([f"因数据有误未评定 {len(excluded)} 个支部（原因见结果工作簿「数据质量」）：{'、'.join(excluded['branch_id'].astype(str))}"]
           if len(excluded) else []),
         *tie_lines,
         *prev_line,
         *[f"注意：{line}" for line in limits],
         "结果已写入：" + "，".join(written))
    return 0
