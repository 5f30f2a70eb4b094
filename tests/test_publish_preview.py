"""The 公示预览 blocks of the shipped notice built from its skeleton (:func:`scoring.publish.preview._filled`)
are the blocks of the rendered Word document, value for value; a value rendering would change makes the
preview render the document instead. Hand-built results dictionaries, no run.
"""

from __future__ import annotations

import random
from datetime import date

import pytest

from scoring.publish import preview
from scoring.publish.content import Options, notice
from scoring.publish.render import default_template

TOWNS = ["城关镇党委", "石桥镇党委", "A&B<街道>", "名称很长的某某乡镇街道党委" * 3]
ODD = ["A&B", "<x>", "\"q\" 'a'", "  前导空格", "尾随空格  ", "中　文", "😀支部", "a>b<c&d;", "&amp;", "%_x", "_x0041_",
       "长" * 120, "", "—…“”", "\u00a0不换行空格", "\u2028", "%", "_"]


def results(n: int, seed: int = 5) -> dict:
    rng = random.Random(seed)
    branches = []
    for i in range(n):
        stars = rng.choice([5, 4, 3, 2, 1, None])
        branches.append({"branch_id": f"B{i:04d}", "name": rng.choice(ODD) + ("" if i % 4 == 0 else f"{i}支部"),
                         "parent": rng.choice(TOWNS), "category": rng.choice(["农村", "社区", ""]), "rank": i + 1,
                         "stars": stars, "rated": stars is not None})
    return {"rubric": {"name": "党支部星级评定标准（五好）"}, "year": 2025, "rating": "stars", "branches": branches}


OPTIONS = [
    preview.default_options(date(2026, 1, 5)),
    Options(date=date(2026, 2, 2), period_from=date(2026, 2, 3), period_to=date(2026, 2, 9), period_days=5,
            committee="中共示例县委组织部 & <党建办>", contact="0000-1234567", order="parent"),
]


def rendered(context: dict) -> list[preview.Block]:
    return preview.rendered_blocks(default_template("notice"), context)


@pytest.mark.parametrize("parent", [None, *TOWNS, "没有支部的镇"])
@pytest.mark.parametrize("options", OPTIONS, ids=["default", "committee"])
def test_skeleton_blocks_are_the_rendered_document(parent, options):
    doc = notice(results(60), options, None, parent)
    fast = preview._filled(doc.context)
    assert fast is not None  # the shipped template allows a skeleton: the fast path is the one in use
    assert fast == rendered(doc.context)


def test_no_rated_branch():
    data = results(6)
    for b in data["branches"]:
        b["stars"], b["rated"] = None, False
    doc = notice(data, OPTIONS[0])
    assert doc.rows == []
    assert preview._filled(doc.context) == rendered(doc.context)


@pytest.mark.parametrize("name", ["换\n行", "制\t表", "{_{ x", "a}b", "   ", "响\x07铃", "\ue000"])
def test_a_value_rendering_changes_renders_the_document(name):
    data = results(8)
    data["branches"][1]["name"], data["branches"][1]["stars"], data["branches"][1]["rated"] = name, 5, True
    doc = notice(data, OPTIONS[0])
    assert preview._filled(doc.context) is None
    got_doc, got = preview.notice_blocks(data, OPTIONS[0])
    assert got == rendered(got_doc.context)


def test_a_committee_rendering_changes_renders_the_document():
    options = Options(**{**OPTIONS[1].__dict__, "committee": "第一行\n第二行"})
    doc = notice(results(8), options)
    assert preview._filled(doc.context) is None
    assert preview.notice_blocks(results(8), options)[1] == rendered(doc.context)


def test_tags_outside_the_skeleton_language_are_refused(tmp_path):
    """A template that filters a value or uses a list otherwise has no skeleton."""
    import zipfile

    source = default_template("notice")
    target = tmp_path / "notice.docx"
    with zipfile.ZipFile(source) as z, zipfile.ZipFile(target, "w") as out:
        for item in z.infolist():
            data = z.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"{{ committee }}", b"{{ committee|upper }}", 1)
            out.writestr(item, data)
    doc = notice(results(8), OPTIONS[0])
    kinds = preview._kinds(doc.context)
    assert preview._tags_ok(source, kinds)
    assert not preview._tags_ok(target, kinds)
    assert preview._skeleton(str(target), (0, 0), preview._shape(doc.context, kinds)) is None
