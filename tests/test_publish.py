"""Tests of ``scoring publish``: the 公示 (county and per township) and the internal list, Word and PDF.

Fast tests use a hand-built results dictionary and ``--no-pdf``. The documents as printed are checked on a
generated county of 30 branches in three townships, scored once and converted to PDF by LibreOffice in
one call for the whole module (``scoring run ... --json --publish DIR --by parent``). Without LibreOffice
those tests skip, except under CI=true, where a missing LibreOffice or pdffonts is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import docx
import pytest

from scoring.cli import main
from scoring.errors import DataError
from scoring.publish import build_templates, content, dates
from scoring.publish.content import Options
from scoring.publish.render import default_template
from scoring.sample import generate_county, write_dataset

TOWNS = ["城关镇党委", "石桥镇党委", "和平街道党工委"]
SIGNED = date(2026, 1, 5)  # a Monday


# --------------------------------------------------------------------------------------------------
# Helpers


def need_tools(*tools: str) -> None:
    """Skip when a tool is missing, fail under CI=true (CI installs them in .ci/run)."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        message = f"missing {', '.join(missing)} (apt-get install libreoffice-writer-nogui fonts-noto-cjk poppler-utils)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def table_rows(path: Path) -> list[list[str]]:
    """Rows of the document's only table, header first (python-docx)."""
    tables = docx.Document(str(path)).tables
    assert len(tables) == 1, f"{path.name}: {len(tables)} tables"
    return [[cell.text for cell in row.cells] for row in tables[0].rows]


def all_text(path: Path) -> str:
    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    parts += [c.text for t in d.tables for row in t.rows for c in row.cells]
    return "\n".join(parts)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def branch(bid, name, parent, rank, level, stars, rated=True, flags=(), vetoes=(), warnings=(), total=80.0):
    return {"branch_id": bid, "name": name, "category": "农村", "parent": parent, "rank": rank, "total": total,
            "stars": stars, "grade": None, "level": level, "rated": rated, "self_score": 99.5,
            "flags": list(flags), "vetoes": list(vetoes), "warnings": list(warnings),
            "dimensions": [], "indicators": [], "bonus": []}


def hand_results() -> dict:
    """Six branches in two townships: the A&B branch tests escaping; 马庄 lost its rating to a veto and is
    a bottom-rank 整顿 candidate; 李庄 is a 软弱涣散 candidate by a veto; 张庄 a bottom-rank 整顿 candidate."""
    veto_rating = {"id": "incident", "name": "严重违纪违法", "effect": "no_rating",
                   "explanation": "严重违纪违法：本年度发生严重违纪违法1起，取消评星资格（只考核不评星）"}
    veto_flag = {"id": "satisfaction", "name": "群众满意率低于60%", "effect": "cap",
                 "explanation": "群众满意率低于60%：满意率56.2%，最高只能评为二星，并列为软弱涣散候选"}
    warning = {"id": "old", "name": "党员平均年龄60岁以上", "explanation": "党员平均年龄60岁以上：党员平均年龄66.1岁"}
    return {
        "rubric": {"id": "five_star", "name": "党支部星级评定标准（五好）", "version": "2025.1", "sha256": "x"},
        "data_sha256": "y", "year": 2025, "rating": "stars",
        "branches": [
            branch("B1", "东村党支部", "甲镇党委", 1, "五星", 5, total=96.25),
            branch("B2", "A&B<公司>党支部", "乙乡党委", 2, "四星", 4),
            branch("B3", "西村党支部", "甲镇党委", 3, "四星", 4),
            branch("B4", "李庄党支部", "乙乡党委", 4, "二星", 2, flags=["软弱涣散候选"], vetoes=[veto_flag]),
            branch("B5", "张庄党支部", "甲镇党委", 5, "一星", 1, flags=["整顿候选"], warnings=[warning]),
            branch("B6", "马庄党支部", "乙乡党委", 6, "不评星", None, rated=False, flags=["整顿候选"],
                   vetoes=[veto_rating]),
        ],
        "excluded": [{"branch_id": "B7", "name": "北村党支部", "reasons": ["支部信息第3行「任期」列：应为整数"]}],
    }


def options(**kw) -> Options:
    base = dict(date=SIGNED, period_from=SIGNED, period_to=date(2026, 1, 9), period_days=5,
                committee="中共示例县委组织部", contact="0000-1234567")
    base.update(kw)
    return Options(**base)


def run_cli(*args) -> int:
    """The exit status of ``scoring ARGS`` (argparse's own usage errors exit through SystemExit)."""
    try:
        return main([str(a) for a in args])
    except SystemExit as e:
        return e.code


# --------------------------------------------------------------------------------------------------
# Dates


def test_period_counts_monday_to_friday():
    # Friday 2026-01-02: Fri, Mon, Tue, Wed, Thu -> ends Thursday 2026-01-08
    assert dates.period(date(2026, 1, 2)) == (date(2026, 1, 2), date(2026, 1, 8), 5)
    # signed on a Saturday: the period starts on Monday
    assert dates.period(date(2026, 1, 3)) == (date(2026, 1, 5), date(2026, 1, 9), 5)
    assert dates.period(SIGNED, days=7) == (SIGNED, date(2026, 1, 13), 7)
    # an explicit end (a holiday week) is kept; its working days are counted
    assert dates.period(SIGNED, end=date(2026, 1, 16)) == (SIGNED, date(2026, 1, 16), 10)
    with pytest.raises(ValueError, match="早于开始日期"):
        dates.period(SIGNED, end=date(2026, 1, 2))


def test_dates_parse_and_print():
    for text in ("2026-01-05", "2026/1/5", "2026.1.5", "2026年1月5日"):
        assert dates.parse_date(text) == SIGNED
    for bad in ("2026-02-30", "5.1.2026", "明天"):
        with pytest.raises(ValueError, match="无效"):
            dates.parse_date(bad)
    assert dates.zh_date(date(2026, 10, 1)) == "2026年10月1日"
    assert dates.working_days_between(date(2026, 1, 1), date(2026, 1, 31)) == 22


# --------------------------------------------------------------------------------------------------
# Content


def test_county_notice_lists_rated_branches_in_rank_order():
    docs, skipped = content.notices(hand_results(), options(), by_parent=True)
    assert [d.stem for d in docs] == ["公示-全县", "公示-甲镇党委", "公示-乙乡党委"]
    assert skipped == []
    county = docs[0].context
    assert [(r["no"], r["name"], r["parent"], r["level"]) for r in county["rows"]] == [
        (1, "东村党支部", "甲镇党委", "五星"), (2, "A&B<公司>党支部", "乙乡党委", "四星"),
        (3, "西村党支部", "甲镇党委", "四星"), (4, "李庄党支部", "乙乡党委", "二星"),
        (5, "张庄党支部", "甲镇党委", "一星")]
    assert county["title"] == "关于2025年度党支部星级评定结果的公示"
    assert county["summary"] == "五星1个、四星2个、二星1个、一星1个"
    assert county["count"] == 5 and county["show_parent"] is True
    town = docs[2].context
    assert [(r["no"], r["name"], r["level"]) for r in town["rows"]] == [
        (1, "A&B<公司>党支部", "四星"), (2, "李庄党支部", "二星")]
    assert town["title_lines"] == ["关于乙乡党委所属党支部", "2025年度星级评定结果的公示"]
    assert town["committee"] == "乙乡党委" and town["show_parent"] is False
    # nothing internal in a row: no score, no self-score, no flag
    assert {k for d in docs for r in d.rows for k in r} == {"no", "name", "parent", "category", "level"}


def test_county_notice_grouped_by_township():
    results = hand_results()
    results["branches"][0]["branch_id"] = "Z1"  # 甲镇's smallest code is now B3, after 乙乡's B2
    docs, _ = content.notices(results, options(order="parent"))
    rows = docs[0].context["rows"]
    assert [(r["parent"], r["name"]) for r in rows] == [
        ("乙乡党委", "A&B<公司>党支部"), ("乙乡党委", "李庄党支部"),
        ("甲镇党委", "东村党支部"), ("甲镇党委", "西村党支部"), ("甲镇党委", "张庄党支部")]
    assert [r["no"] for r in rows] == [1, 2, 3, 4, 5]


def test_township_without_rated_branch_gets_no_notice():
    results = hand_results()
    results["branches"].append(branch("B8", "南村党支部", "丙镇党委", 7, "不评星", None, rated=False))
    docs, skipped = content.notices(results, options(), by_parent=True)
    assert skipped == ["丙镇党委"]
    assert "公示-丙镇党委" not in [d.stem for d in docs]


def test_long_titles_break_between_words():
    assert content.fit_lines(["关于新华街道党工委所属党支部", "2025年度星级评定结果的公示"], 20) == [
        "关于新华街道党工委所属党支部", "2025年度星级评定结果的公示"]
    assert content.fit_lines(["关于甲镇所属党支部", "2025年度结果的公示"], 20) == ["关于甲镇所属党支部2025年度结果的公示"]
    assert content.text_width("2025年") == 3.0


def test_internal_list_gives_every_reason():
    doc = content.internal(hand_results(), options())
    flagged = doc.context["flagged"]
    assert [(r["name"], r["flags"]) for r in flagged] == [
        ("李庄党支部", "软弱涣散候选"), ("张庄党支部", "整顿候选"), ("马庄党支部", "整顿候选")]
    assert flagged[0]["reasons"] == ["群众满意率低于60%：满意率56.2%，最高只能评为二星，并列为软弱涣散候选"]
    assert flagged[1]["reasons"] == ["全县排名第5名（共6个），排名靠后，列为整顿候选",
                                     "（预警）党员平均年龄60岁以上：党员平均年龄66.1岁"]
    assert flagged[2]["reasons"] == ["严重违纪违法：本年度发生严重违纪违法1起，取消评星资格（只考核不评星）",
                                     "全县排名第6名（共6个），排名靠后，列为整顿候选"]
    assert [(r["name"], r["reasons"]) for r in doc.context["unrated"]] == [
        ("马庄党支部", ["严重违纪违法：本年度发生严重违纪违法1起，取消评星资格（只考核不评星）"])]
    assert [(r["name"], r["reasons"]) for r in doc.context["excluded"]] == [
        ("北村党支部", ["支部信息第3行「任期」列：应为整数"])]


def test_core_contract_without_level_or_rated():
    """A results file with only the contract's keys: levels from stars, rated from stars/grade."""
    results = hand_results()
    for b in results["branches"]:
        del b["level"], b["rated"]
    rows = content.notices(results, options())[0][0].context["rows"]
    assert [(r["name"], r["level"]) for r in rows][:2] == [("东村党支部", "五星"), ("A&B<公司>党支部", "四星")]
    assert "马庄党支部" not in [r["name"] for r in rows]


def test_results_without_branches_is_a_data_error():
    with pytest.raises(DataError, match="缺少支部列表"):
        content.branches_frame({"rubric": {}}, "x.json")
    with pytest.raises(DataError, match="第1项缺少：parent、rank"):
        content.branches_frame({"branches": [{"branch_id": "B1", "name": "n"}]}, "x.json")


# --------------------------------------------------------------------------------------------------
# Word documents (no PDF)


@pytest.fixture(scope="module")
def hand_json(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hand") / "results.json"
    path.write_text(json.dumps(hand_results(), ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hand_docs(hand_json, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hand_out") / "公示"
    assert run_cli("publish", hand_json, "-o", out, "--by", "parent", "--no-pdf", "--date", "2026-01-05",
                   "--committee", "中共示例县委组织部", "--contact", "0000-1234567", "-q") == 0
    return out


def test_word_documents_written(hand_docs):
    assert sorted(p.name for p in hand_docs.iterdir()) == sorted([
        "公示-全县.docx", "公示-甲镇党委.docx", "公示-乙乡党委.docx", "内部名单-软弱涣散和整顿候选.docx"])
    assert table_rows(hand_docs / "公示-全县.docx") == [
        ["序号", "上级党组织", "党支部名称", "星级"],
        ["1", "甲镇党委", "东村党支部", "五星"], ["2", "乙乡党委", "A&B<公司>党支部", "四星"],
        ["3", "甲镇党委", "西村党支部", "四星"], ["4", "乙乡党委", "李庄党支部", "二星"],
        ["5", "甲镇党委", "张庄党支部", "一星"]]
    assert table_rows(hand_docs / "公示-甲镇党委.docx") == [
        ["序号", "党支部名称", "星级"], ["1", "东村党支部", "五星"], ["2", "西村党支部", "四星"], ["3", "张庄党支部", "一星"]]


def test_word_notice_text(hand_docs):
    text = all_text(hand_docs / "公示-全县.docx")
    for expected in ("关于2025年度党支部星级评定结果的公示",
                     "根据《党支部星级评定标准（五好）》，经考核评定，现将全县5个党支部2025年度星级评定结果予以公示",
                     "其中，五星1个、四星2个、二星1个、一星1个。",
                     "公示时间：2026年1月5日至2026年1月9日（5个工作日）。",
                     "向中共示例县委组织部反映", "联系电话：0000-1234567", "2026年1月5日", "附件",
                     "2025年度党支部星级评定结果名单", "（按考核得分从高到低排列，共5个党支部）"):
        assert expected in text
    # nothing internal: no flags, no veto sentence, no unrated branch, no score or self-score
    for internal in ("整顿", "软弱涣散", "马庄党支部", "取消评星", "96.25", "99.5", "自评"):
        assert internal not in text
    town = all_text(hand_docs / "公示-乙乡党委.docx")
    assert "关于乙乡党委所属党支部\n2025年度星级评定结果的公示" in town  # broken between words
    assert "可通过来电、来信、来访等方式向乙乡党委反映" in town


def test_word_internal_list(hand_docs):
    d = docx.Document(str(hand_docs / "内部名单-软弱涣散和整顿候选.docx"))
    assert len(d.tables) == 3
    flagged = [[c.text for c in row.cells] for row in d.tables[0].rows]
    assert flagged[0] == ["序号", "上级党组织", "党支部名称", "考核结果", "标记", "原因"]
    assert flagged[2] == ["2", "甲镇党委", "张庄党支部", "一星", "整顿候选",
                          "1. 全县排名第5名（共6个），排名靠后，列为整顿候选\n2. （预警）党员平均年龄60岁以上：党员平均年龄66.1岁"]
    assert flagged[1][5] == "群众满意率低于60%：满意率56.2%，最高只能评为二星，并列为软弱涣散候选"  # one reason: no number
    unrated = [[c.text for c in row.cells] for row in d.tables[1].rows]
    assert unrated[1][:4] == ["1", "乙乡党委", "马庄党支部", "不评星"]
    assert [c.text for c in d.tables[2].rows[1].cells][2:] == ["北村党支部", "支部信息第3行「任期」列：应为整数"]
    assert "内部资料" in d.paragraphs[0].text


def test_default_period_and_placeholders(hand_json, tmp_path, capsys):
    out = tmp_path / "o"
    # signed on Saturday 2026-01-03: the period runs Monday 5th to Friday 9th
    assert run_cli("publish", hand_json, "-o", out, "--no-pdf", "--date", "2026-01-03", "-q") == 0
    err = capsys.readouterr().err
    assert "未指定 --committee" in err and "未指定 --contact" in err
    text = all_text(out / "公示-全县.docx")
    assert "公示时间：2026年1月5日至2026年1月9日（5个工作日）" in text
    assert "向（发布单位）反映" in text and "联系电话：（联系电话）" in text
    assert sorted(p.name for p in out.iterdir()) == sorted(["公示-全县.docx", "内部名单-软弱涣散和整顿候选.docx"])


def test_county_template(hand_json, tmp_path, capsys):
    """A county's own template: any variables, a repeated row; a missing variable is named."""
    template = tmp_path / "my.docx"
    d = docx.Document()
    d.add_paragraph("{{ scope }}{{ year }}年{{ rating_name }}（{{ count }}个）")
    t = d.add_table(rows=3, cols=2)
    t.cell(0, 0).text = "{%tr for r in rows %}"
    t.cell(1, 0).text = "{{ r.name }}"
    t.cell(1, 1).text = "{{ r.level }}"
    t.cell(2, 0).text = "{%tr endfor %}"
    d.save(str(template))
    out = tmp_path / "o"
    assert run_cli("publish", hand_json, "-o", out, "--no-pdf", "--template", template, "-q",
                   "--committee", "县委组织部", "--contact", "1") == 0
    written = docx.Document(str(out / "公示-全县.docx"))
    assert written.paragraphs[0].text == "全县2025年星级评定（5个）"
    assert [[c.text for c in r.cells] for r in written.tables[0].rows] == [
        ["东村党支部", "五星"], ["A&B<公司>党支部", "四星"], ["西村党支部", "四星"], ["李庄党支部", "二星"],
        ["张庄党支部", "一星"]]

    bad = tmp_path / "bad.docx"
    d = docx.Document()
    d.add_paragraph("{{ county_name }} {{ rows }}")
    d.save(str(bad))
    assert run_cli("publish", hand_json, "-o", tmp_path / "o2", "--no-pdf", "--template", bad, "-q") == 2
    err = capsys.readouterr().err
    assert "用到了不存在的变量「county_name」" in err and "Traceback" not in err
    assert not (tmp_path / "o2").exists() or not any((tmp_path / "o2").iterdir())


def test_usage_and_data_errors(hand_json, tmp_path, capsys):
    cases = [
        (["publish", tmp_path / "none.json", "-o", tmp_path / "o", "--no-pdf"], 2, "找不到结果文件"),
        (["publish", hand_json, "-o", tmp_path / "o", "--no-pdf", "--from", "2026-01-09", "--to", "2026-01-05"], 2,
         "早于开始日期"),
        (["publish", hand_json, "-o", tmp_path / "o", "--no-pdf", "--date", "2026-13-01"], 2, "日期「2026-13-01」无效"),
        (["publish", hand_json, "-o", hand_json, "--no-pdf"], 2, "是一个文件，应为文件夹"),
        (["publish", hand_json, "-o", tmp_path / "x" / "y", "--no-pdf"], 2, "不存在"),
        (["publish", hand_json, "-o", tmp_path / "o", "--no-pdf", "--template", hand_json], 2, "不是 Word 文档"),
        (["publish", hand_json, "-o", tmp_path / "o", "--no-pdf", "--days", "0"], 2, "--days 至少为 1"),
    ]
    for args, code, message in cases:
        assert run_cli(*args) == code, args
        err = capsys.readouterr().err
        assert message in err, (args, err)
        assert "Traceback" not in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"branches": [', encoding="utf-8")
    assert run_cli("publish", broken, "-o", tmp_path / "o", "--no-pdf") == 1
    err = capsys.readouterr().err
    assert str(broken) in err and "JSON 格式错误" in err
    assert not (tmp_path / "o").exists()


def test_output_never_overwrites_an_input(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    source = out / "公示-全县.docx"  # a results file that happens to sit where a document would go
    results = out / "r.json"
    results.write_text(json.dumps(hand_results(), ensure_ascii=False), encoding="utf-8")
    shutil.copy(results, source)
    assert run_cli("publish", source, results, "-o", out, "--no-pdf") != 0  # two inputs: records, not JSON
    capsys.readouterr()
    assert source.read_bytes() == results.read_bytes()


def test_shipped_templates_are_current(tmp_path):
    """The templates in the package are what build_templates makes (the script is their source)."""
    assert build_templates.main([str(tmp_path)]) == 0
    for name in build_templates.BUILDERS:
        with zipfile.ZipFile(tmp_path / name) as built, zipfile.ZipFile(default_template(name[:-5])) as shipped:
            for part in ("word/document.xml", "word/styles.xml", "word/footer1.xml"):
                assert built.read(part) == shipped.read(part), f"{name} {part}: rebuild with python -m scoring.publish.build_templates"


# --------------------------------------------------------------------------------------------------
# The documents as printed: a generated county, scored once, converted once


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> SimpleNamespace:
    need_tools("soffice", "pdffonts", "pdftotext")
    root = tmp_path_factory.mktemp("county")
    tables = generate_county(30, seed=7, year=2025)
    tables["branches"]["parent"] = [TOWNS[i % 3] for i in range(len(tables["branches"]))]
    data = root / "data"
    write_dataset(tables, data, "parquet")
    out = root / "公示"
    # the documents and the JSON are what is checked here (the results workbook with --publish is in
    # tests/test_publish_print.py), so no results workbook is written
    code = run_cli("run", data, "--no-xlsx", "--json", root / "results.json", "-q",
                   "--publish", out, "--by", "parent", "--date", "2026-01-05",
                   "--committee", "中共示例县委组织部", "--contact", "0000-1234567")
    assert code == 0
    results = json.loads((root / "results.json").read_text(encoding="utf-8"))
    return SimpleNamespace(root=root, data=data, out=out, results=results)


def test_county_documents_written(county):
    names = sorted(p.name for p in county.out.iterdir())
    stems = ["公示-全县"] + [f"公示-{t}" for t in TOWNS] + ["内部名单-软弱涣散和整顿候选"]
    assert names == sorted(f"{s}{ext}" for s in stems for ext in (".docx", ".pdf"))


def test_county_docx_tables_hold_exactly_the_rated_branches(county):
    rated = [b for b in county.results["branches"] if b["rated"]]
    assert 0 < len(rated) < len(county.results["branches"])  # the county has unrated branches
    expected = [[str(i), b["parent"], b["name"], b["level"]] for i, b in enumerate(rated, 1)]
    assert table_rows(county.out / "公示-全县.docx")[1:] == expected
    for town in TOWNS:
        mine = [b for b in rated if b["parent"] == town]
        assert table_rows(county.out / f"公示-{town}.docx")[1:] == [
            [str(i), b["name"], b["level"]] for i, b in enumerate(mine, 1)]


def test_county_pdfs_embed_chinese_fonts(county):
    for pdf in sorted(county.out.glob("*.pdf")):
        out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        fonts = [line.split() for line in out.splitlines()[2:] if line.strip()]
        assert fonts, pdf.name
        cjk = [f for f in fonts if "CJK" in f[0]]
        assert cjk, f"{pdf.name}: no CJK font\n{out}"
        # columns from the right: object id, generation, uni, sub, emb
        assert all(f[-5] == "yes" for f in fonts), f"{pdf.name}: a font is not embedded\n{out}"


def pdf_text(path: Path) -> str:
    return squeeze(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                  check=True).stdout)


def test_county_pdf_text_has_every_branch(county):
    branches = county.results["branches"]
    for town in TOWNS:
        text = pdf_text(county.out / f"公示-{town}.pdf")
        assert squeeze(f"关于{town}所属党支部") in text
        for b in branches:
            if b["parent"] == town and b["rated"]:
                assert squeeze(b["name"]) in text, (town, b["name"])
            elif not b["rated"]:
                assert squeeze(b["name"]) not in text
    county_text = pdf_text(county.out / "公示-全县.pdf")
    assert "关于2025年度党支部星级评定结果的公示" in county_text
    assert all(squeeze(b["name"]) in county_text for b in branches if b["rated"])
    assert "整顿" not in county_text and "软弱涣散" not in county_text
    internal = pdf_text(county.out / "内部名单-软弱涣散和整顿候选.pdf")
    assert "内部资料" in internal
    flagged = [b for b in branches if b["flags"]]
    assert flagged and all(squeeze(b["name"]) in internal for b in flagged)


def test_publish_from_records_equals_publish_from_json(county, tmp_path):
    """``publish DATA`` scores like ``run`` does: the same documents as from the run's JSON."""
    a, b = tmp_path / "a", tmp_path / "b"
    common = ["--by", "parent", "--no-pdf", "--date", "2026-01-05", "-q", "--committee", "c", "--contact", "1"]
    assert run_cli("publish", county.data, "-o", a, *common) == 0
    assert run_cli("publish", county.root / "results.json", "-o", b, *common) == 0
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and len(names) == 5
    for name in names:
        assert all_text(a / name) == all_text(b / name), name


def test_written_documents_keep_the_schema_order(hand_docs):
    """Word refuses a document whose paragraph or table properties are out of the schema's order
    (LibreOffice does not mind, so the PDF would not show it)."""
    from lxml import etree

    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    orders = {f"{w}pPr": build_templates.PPR_ORDER, f"{w}tblPr": build_templates.TBLPR_ORDER}
    for path in sorted(hand_docs.glob("*.docx")):
        with zipfile.ZipFile(path) as z:
            for part in ("word/document.xml", "word/styles.xml", "word/footer1.xml"):
                root = etree.fromstring(z.read(part))
                for tag, order in orders.items():
                    rank = {f"{w}{name}": i for i, name in enumerate(order)}
                    for el in root.iter(tag):
                        seen = [rank[c.tag] for c in el if c.tag in rank]
                        assert seen == sorted(seen), (path.name, part, [c.tag[len(w):] for c in el])
