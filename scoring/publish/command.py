"""``scoring publish RESULTS.json|DATA... -o DIR``: the 公示 for the county (and each township with
``--by parent``) and the internal list, as .docx and .pdf.

The input is a results JSON written by ``scoring run --json``, or the records themselves (then they are
scored exactly as ``scoring run`` does). Every file is rendered into a staging folder inside ``DIR``
first; only when all documents and PDFs exist are they moved into place, each by an atomic rename, so a
failed run leaves ``DIR`` as it was.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from scoring.errors import DataError, Problem, UsageError
from scoring.publish import content, dates, pdf
from scoring.publish.content import Document, Options
from scoring.publish.render import check_template, default_template, render, template_variables

COMMITTEE_PLACEHOLDER = "（发布单位）"
CONTACT_PLACEHOLDER = "（联系电话）"


@dataclass
class Written:
    documents: list[Document]
    files: list[Path]
    skipped: list[str]
    warnings: list[str]


def options_from_args(a, today: date | None = None) -> tuple[Options, list[str]]:
    """Options from the parsed command line, and warnings for what was left to a placeholder."""
    warnings = []
    signed = a.date or today or date.today()
    try:
        start, end, n_days = dates.period(signed, a.period_from, a.period_to, a.days)
    except ValueError as e:
        raise UsageError(str(e)) from None
    committee = (a.committee or "").strip()
    if not committee:
        committee = COMMITTEE_PLACEHOLDER
        warnings.append(f"未指定 --committee（落款单位），全县公示的落款和受理单位写作「{COMMITTEE_PLACEHOLDER}」，"
                        "请在 Word 文档中改正，或加 --committee 重新生成")
    contact = (a.contact or "").strip()
    if not contact:
        contact = CONTACT_PLACEHOLDER
        warnings.append(f"未指定 --contact（联系电话），公示中写作「{CONTACT_PLACEHOLDER}」")
    if a.period_to is not None and n_days < dates.DEFAULT_DAYS:
        warnings.append(f"公示期只有 {n_days} 个工作日（通常不少于 {dates.DEFAULT_DAYS} 个工作日）")
    return Options(date=signed, period_from=start, period_to=end, period_days=n_days, committee=committee,
                   contact=contact, order=a.order), warnings


def read_results(path: Path) -> dict:
    """A results JSON file; a data error naming the file when it is not one."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataError([Problem(str(path), None, None, None, "不是 UTF-8 编码的 JSON 文件")]) from None
    except json.JSONDecodeError as e:
        raise DataError([Problem(str(path), None, e.lineno, None, f"JSON 格式错误（第{e.colno}列）：{e.msg}")]) from None
    if not isinstance(results, dict):
        raise DataError([Problem(str(path), None, None, None, "不是 scoring run --json 写出的结果文件")])
    content.branches_frame(results, str(path))  # validates, naming the file
    return results


def plan(results: dict, options: Options, by_parent: bool, internal: bool = True) -> tuple[list[Document], list[str]]:
    """The documents to write: the county notice, the township notices, the internal list."""
    docs, skipped = content.notices(results, options, by_parent)
    if internal:
        docs.append(content.internal(results, options))
    return docs, skipped


def write_documents(docs: list[Document], out_dir: Path, notice_template: Path | None = None,
                    internal_template: Path | None = None, make_pdf: bool = True,
                    stage_parent: Path | None = None) -> list[Path]:
    """Render every document (and its PDF) and move them into ``out_dir``; the files written in order."""
    templates = {"notice": notice_template or default_template("notice"),
                 "internal": internal_template or default_template("internal")}
    for t in templates.values():
        check_template(t)
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".publish-", dir=stage_parent or out_dir))
    try:
        staged = []
        for doc in docs:
            target = stage / f"{doc.stem}.docx"
            render(templates[doc.kind], doc.context, target)
            staged.append(target)
        pdfs = pdf.convert(staged, stage / "pdf") if make_pdf else []
        files = []
        for i, path in enumerate(staged):
            files.append(path)
            if make_pdf:
                files.append(pdfs[i])
        moved = []
        for f in files:
            dest = out_dir / f.name
            f.replace(dest)
            moved.append(dest)
        return moved
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def check_out_dir(out_dir: Path) -> None:
    """The output folder is a folder, or can be made in a folder that exists."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"输出路径 {out_dir} 是一个文件，应为文件夹")
    if not out_dir.exists() and not out_dir.parent.exists():
        raise UsageError(f"输出文件夹 {out_dir.parent} 不存在")


def check_not_inputs(inputs: list[Path], outputs: list[Path]) -> None:
    """No output file is one of the inputs (a file given, or a file inside a folder given)."""
    ins = set()
    for p in inputs:
        rp = p.resolve()
        ins.add(rp)
        if rp.is_dir():
            ins |= {c.resolve() for c in rp.rglob("*") if c.is_file()}
    for o in outputs:
        if o.resolve() in ins:
            raise UsageError(f"输出文件 {o} 是输入数据之一，不能覆盖输入文件；请用 -o 指定其他文件夹")
        if o.is_dir():
            raise UsageError(f"输出路径 {o} 是一个文件夹")


def results_from_args(a) -> tuple[dict, str | None]:
    """The results dictionary: read from a JSON file, or computed from the records like ``scoring run``."""
    if len(a.data) == 1 and a.data[0].suffix.lower() == ".json":
        if not a.data[0].exists():
            raise UsageError(f"找不到结果文件：{a.data[0]}")
        if a.data[0].is_dir():
            raise UsageError(f"结果文件 {a.data[0]} 是一个文件夹")
        return read_results(a.data[0]), None
    from scoring.engine import build_meta, load, read_for, require_branches, score
    from scoring.output.jsonout import to_json_dict
    from scoring.progress import Phases

    for p in a.data:
        if not p.exists():
            raise UsageError(f"找不到数据：{p}")
    timer = Phases(quiet=a.quiet)
    with timer("rubric"):
        rubric, reg, shown = load(a.rubric, a.plugin)
    year = a.year or rubric.year
    data = read_for(a.data, (rubric, reg), timer=timer, lenient=a.lenient, year=year)
    require_branches(data, a.data)
    meta = build_meta(rubric, reg, data, year, "scoring publish", None)
    result = score(rubric, reg, data, year, meta, timer)
    timer.close()
    return to_json_dict(result), shown


def publish(results: dict, a, out_dir: Path, today: date | None = None) -> Written:
    """Plan and write every document for the parsed options ``a``."""
    options, warnings = options_from_args(a, today)
    docs, skipped = plan(results, options, a.by == "parent")
    suffixes = (".docx",) if a.no_pdf else (".docx", ".pdf")
    check_not_inputs(list(a.data), [out_dir / f"{d.stem}{s}" for d in docs for s in suffixes])
    notice_template = a.template
    if notice_template is not None:
        used = template_variables(notice_template)
        if "rows" not in used:
            warnings.append(f"模板 {notice_template} 没有用到支部名单（rows），公示中不会列出支部")
    files = write_documents(docs, out_dir, notice_template, a.internal_template, make_pdf=not a.no_pdf)
    return Written(docs, files, skipped, warnings)


def report(w: Written, out_dir: Path, quiet: bool) -> None:
    for warning in w.warnings:
        print(f"注意：{warning}", file=sys.stderr)
    if quiet:
        return
    county = w.documents[0]
    ctx = county.context
    print(f"{ctx['title']}：{ctx['count']} 个党支部（{ctx['summary']}）")
    print(f"公示期：{ctx['period_from']}至{ctx['period_to']}（{ctx['period_days']}个工作日，只按周一至周五计算，"
          "不含法定节假日调整；如遇节假日请用 --to 指定结束日期）")
    townships = [d for d in w.documents if d.kind == "notice" and d.context["scope_kind"] == content.PARENT]
    if townships:
        print(f"乡镇（上级党组织）公示 {len(townships)} 份：" + "、".join(
            f"{d.scope}（{d.context['count']}个）" for d in townships))
    if w.skipped:
        print("没有评定等级的支部、未生成公示：" + "、".join(w.skipped))
    internal = [d for d in w.documents if d.kind == "internal"]
    if internal:
        c = internal[0].context
        print(f"内部名单（不公开）：软弱涣散和整顿候选 {len(c['flagged'])} 个，取消评定资格 {len(c['unrated'])} 个"
              + (f"，因数据有误未评定 {len(c['excluded'])} 个" if c["excluded"] else ""))
    print(f"已写入 {out_dir}：{len(w.files)} 个文件（" + "、".join(f.name for f in w.files[:4])
          + ("……" if len(w.files) > 4 else "") + "）")


def check_publish_args(a, out_dir: Path) -> None:
    """Before any work: the output folder, the templates, the dates, and LibreOffice unless --no-pdf."""
    check_out_dir(out_dir)
    for t in (a.template, a.internal_template):
        if t is not None:
            check_template(t)
    if a.days < 1:
        raise UsageError("--days 至少为 1")
    options_from_args(a)
    if not a.no_pdf:
        pdf.check_available()


def preview_for_run(result, a):
    """The 公示预览 blocks for ``scoring run ... --publish``: the county notice with the run's options and
    template, so the workbook's preview says what the document says."""
    from scoring.output.jsonout import to_json_dict
    from scoring.publish.preview import notice_blocks

    options, _ = options_from_args(a)
    return notice_blocks(to_json_dict(result), options, a.template)[1]


def publish_result(result, a, out_dir: Path) -> Written:
    """``scoring run ... --publish DIR``: the documents of a result just computed."""
    from scoring.output.jsonout import to_json_dict

    written = publish(to_json_dict(result), a, out_dir)
    report(written, out_dir, a.quiet)
    return written


def main_publish(a) -> int:
    out_dir: Path = a.output
    check_publish_args(a, out_dir)
    results, _ = results_from_args(a)
    written = publish(results, a, out_dir)
    report(written, out_dir, a.quiet)
    return 0
