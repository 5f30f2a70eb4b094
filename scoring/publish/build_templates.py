"""Builds the default Word templates shipped in ``scoring/publish/templates/`` (``notice.docx``, the 公示,
and ``internal.docx``, the internal 整顿/软弱涣散 list). The shipped files are this script's output; a test
checks that they are current. Rebuild after a change with::

    python -m scoring.publish.build_templates

The templates are ordinary Word documents with Jinja tags (docxtpl): ``{{ name }}`` a value,
``{%p if ... %}`` / ``{%p for ... %}`` a paragraph-level block, ``{%tr for r in rows %}`` a repeated table
row. A county copies one, edits words, fonts or layout in Word, and passes it with ``--template``. The
variables are listed in :mod:`scoring.publish.content`.

Layout follows the usual party and government document conventions (GB/T 9704): A4, margins 37/35/28/26
mm, title 方正小标宋简体 二号, body 仿宋 三号 with a two-character first-line indent and fixed 28 pt lines,
page numbers "— 1 —" in the footer, the list as an attachment (附件) on a new page with its header row
repeated on every page. Fonts are named as a Chinese Windows office has them; the PDF conversion maps
them to the Noto CJK fonts (see :mod:`scoring.publish.pdf`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

TEMPLATES = Path(__file__).resolve().parent / "templates"

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋"
HEAD_FONT = "黑体"
TABLE_FONT = "宋体"


# --------------------------------------------------------------------------------------------------
# Low-level helpers (python-docx has no API for East Asian fonts, repeated header rows or fields)


def _fonts(rpr, font: str) -> None:
    """Set every script's font to ``font`` and drop theme fonts (a theme font would win over a name)."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for key in list(rfonts.attrib):
        if key.endswith("Theme"):
            del rfonts.attrib[key]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), font)


def _lang(rpr) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")


def _defaults(document, font: str, size: float) -> None:
    """Document defaults: the body font, Chinese language, no theme fonts, no spacing after paragraphs."""
    styles = document.styles.element
    rpr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _fonts(rpr, font)
    _lang(rpr)
    normal = document.styles["Normal"]
    normal.font.size = Pt(size)
    _fonts(normal.element.get_or_add_rPr(), font)
    pf = normal.paragraph_format
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    ppr_default = styles.find(qn("w:docDefaults")).find(qn("w:pPrDefault"))
    if ppr_default is not None:
        spacing = ppr_default.find(qn("w:pPr")).find(qn("w:spacing"))
        if spacing is not None:
            spacing.set(qn("w:after"), "0")
            spacing.set(qn("w:line"), "240")
            spacing.set(qn("w:lineRule"), "auto")


# w:pPr children in the order the schema (ECMA-376, CT_PPrBase) requires; Word refuses other orders.
PPR_ORDER = ("pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
             "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
             "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd",
             "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
             "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr",
             "sectPr", "pPrChange")


TBLPR_ORDER = ("tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize",
               "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook",
               "tblCaption", "tblDescription", "tblPrChange")


def _sort_children(parent, order: tuple[str, ...]) -> None:
    rank = {qn(f"w:{tag}"): i for i, tag in enumerate(order)}
    children = sorted(parent, key=lambda el: rank.get(el.tag, len(rank)))
    for el in children:
        parent.remove(el)
    for el in children:
        parent.append(el)


def _sort_ppr(ppr) -> None:
    _sort_children(ppr, PPR_ORDER)


def _style(document, name: str, font: str, size: float, *, bold: bool = False, align=None,
           first_line_chars: int = 0, line: float | None = None, before: float = 0, after: float = 0,
           right_chars: int = 0, keep_next: bool = False):
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles["Normal"]
    style.quick_style = True
    style.font.size = Pt(size)
    style.font.bold = bold or None
    _fonts(style.element.get_or_add_rPr(), font)
    pf = style.paragraph_format
    pf.space_before = Pt(before)
    pf.space_after = Pt(after)
    pf.keep_with_next = keep_next
    if align is not None:
        pf.alignment = align
    if line is not None:
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = Pt(line)
    else:
        pf.line_spacing = 1.0
    ppr = style.element.get_or_add_pPr()
    if first_line_chars or right_chars:
        ind = OxmlElement("w:ind")
        if first_line_chars:
            ind.set(qn("w:firstLineChars"), str(first_line_chars * 100))
            ind.set(qn("w:firstLine"), str(int(first_line_chars * size * 20)))
        if right_chars:
            ind.set(qn("w:rightChars"), str(right_chars * 100))
            ind.set(qn("w:right"), str(int(right_chars * size * 20)))
        ppr.append(ind)
    # Chinese line breaking: no CJK punctuation at a line start (Word and LibreOffice both default to a
    # small space between Chinese and Latin/digits; it is left on so the PDF looks like the document)
    kinsoku = OxmlElement("w:kinsoku")
    kinsoku.set(qn("w:val"), "1")
    ppr.append(kinsoku)
    _sort_ppr(ppr)
    return style


def _a4(section, landscape: bool = False) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    width, height = Mm(210), Mm(297)
    section.page_width, section.page_height = (height, width) if landscape else (width, height)
    if landscape:
        section.top_margin, section.bottom_margin = Mm(28), Mm(26)
        section.left_margin, section.right_margin = Mm(30), Mm(28)
    else:
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
        section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance = Mm(15)
    section.footer_distance = Mm(20)


def _page_numbers(section, style) -> None:
    """Footer "— 1 —" (the current page as a PAGE field)."""
    p = section.footer.paragraphs[0]
    p.style = style
    p.add_run("— ")
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    fld.append(run)
    p._p.append(fld)
    p.add_run(" —")


def _row_flags(row, header: bool, can_split: bool = False) -> None:
    trpr = row._tr.get_or_add_trPr()
    if not can_split:
        trpr.append(OxmlElement("w:cantSplit"))
    if header:
        trpr.append(OxmlElement("w:tblHeader"))


def _cell_margins(table, top_bottom_twips: int = 30, side_twips: int = 80) -> None:
    mar = OxmlElement("w:tblCellMar")
    for side, value in (("top", top_bottom_twips), ("left", side_twips), ("bottom", top_bottom_twips),
                        ("right", side_twips)):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(value))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    table._tbl.tblPr.append(mar)


def _set_cell(cell, text: str, style, width, align=None) -> None:
    cell.width = width
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    p = cell.paragraphs[0]
    p.style = style
    if align is not None:
        p.alignment = align
    p.add_run(text)


def _cell_paragraph(cell, text: str, style, align=None) -> None:
    p = cell.add_paragraph(style=style)
    if align is not None:
        p.alignment = align
    p.add_run(text)


def _loop_table(document, columns: list[tuple[str, str, float, object]], head_style, cell_style,
                loop: str = "r in rows", can_split: bool = False):
    """A bordered table: a header row repeated on every page, then the docxtpl row loop
    ``{%tr for <loop> %}`` / one row of ``{{ ... }}`` cells / ``{%tr endfor %}``.

    ``columns``: (header, cell expression or a list of lines for paragraph loops, width in cm, alignment).
    """
    table = document.add_table(rows=4, cols=len(columns))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False  # fixed layout: the widths below hold
    _cell_margins(table)
    _sort_children(table._tbl.tblPr, TBLPR_ORDER)
    head, start, body, end = table.rows
    _row_flags(head, header=True)
    _row_flags(body, header=False, can_split=can_split)
    for i, (header, expr, width, align) in enumerate(columns):
        _set_cell(head.cells[i], header, head_style, Cm(width), WD_ALIGN_PARAGRAPH.CENTER)
        if isinstance(expr, list):  # paragraph-level loop inside the cell
            _set_cell(body.cells[i], expr[0], cell_style, Cm(width), align)
            for line in expr[1:]:
                _cell_paragraph(body.cells[i], line, cell_style, align)
        else:
            _set_cell(body.cells[i], expr, cell_style, Cm(width), align)
        start.cells[i].width = Cm(width)
        end.cells[i].width = Cm(width)
    start.cells[0].paragraphs[0].add_run(f"{{%tr for {loop} %}}")
    end.cells[0].paragraphs[0].add_run("{%tr endfor %}")
    for i, (_, _, width, _) in enumerate(columns):  # grid widths (LibreOffice reads these)
        table.columns[i].width = Cm(width)
    return table


def _para(document, text: str, style):
    p = document.add_paragraph(style=style)
    if text:
        p.add_run(text)
    return p


def _title(document, variable: str, s: dict) -> None:
    """A title of one or more centred lines (the content breaks it between words), then a gap."""
    _para(document, f"{{%p for line in {variable} %}}", s["tag"])
    _para(document, "{{ line }}", s["title"])
    _para(document, "{%p endfor %}", s["tag"])
    _para(document, "", s["gap"])


def _styles(document) -> dict:
    center, right, left = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT, WD_ALIGN_PARAGRAPH.LEFT
    justify = WD_ALIGN_PARAGRAPH.JUSTIFY
    return {
        "title": _style(document, "公示标题", TITLE_FONT, 22, align=center, line=36, keep_next=True),
        "gap": _style(document, "标题后空行", BODY_FONT, 16, line=28, keep_next=True),
        "body": _style(document, "公示正文", BODY_FONT, 16, align=justify, first_line_chars=2, line=28),
        "sign": _style(document, "公示落款", BODY_FONT, 16, align=right, right_chars=4, line=28),
        "annex": _style(document, "附件标识", HEAD_FONT, 16, align=left, line=28, keep_next=True),
        "annex_title": _style(document, "附件标题", TITLE_FONT, 18, align=center, line=30, keep_next=True),
        "head": _style(document, "表头文字", HEAD_FONT, 12, align=center, line=16),
        "cell": _style(document, "表格文字", TABLE_FONT, 12, line=16),
        "annex_note": _style(document, "附件说明", "楷体", 14, align=center, line=24, after=8, keep_next=True),
        "mark": _style(document, "密级标识", HEAD_FONT, 14, align=left, line=24),
        "footer": _style(document, "页码", TABLE_FONT, 14, align=center),
        "small_head": _style(document, "小表头文字", HEAD_FONT, 10.5, align=center, line=15),
        "small_cell": _style(document, "小表格文字", TABLE_FONT, 10.5, line=15),
        "tag": _style(document, "模板标记", BODY_FONT, 10),
    }


# --------------------------------------------------------------------------------------------------
# The two templates


def build_notice(path: Path) -> None:
    """The 公示: title, body, contact, signature and date, then the list as an attachment."""
    document = docx.Document()
    _defaults(document, BODY_FONT, 16)
    s = _styles(document)
    section = document.sections[0]
    _a4(section)
    _page_numbers(section, s["footer"])
    center, left = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT

    _title(document, "title_lines", s)
    _para(document, "根据《{{ rubric_name }}》，经考核评定，现将{{ scope_phrase }}{{ count }}个党支部{{ year }}年度"
                    "{{ rating_name }}结果予以公示（名单见附件）。其中，{{ summary }}。", s["body"])
    _para(document, "公示时间：{{ period_from }}至{{ period_to }}（{{ period_days }}个工作日）。", s["body"])
    _para(document, "公示期间，对评定结果有异议的，可通过来电、来信、来访等方式向{{ committee }}反映。"
                    "反映情况应实事求是、客观公正，以个人名义反映的请告知真实姓名和联系方式。", s["body"])
    _para(document, "联系电话：{{ contact }}", s["body"])
    _para(document, "", s["body"])
    _para(document, "", s["body"])
    _para(document, "{{ committee }}", s["sign"])
    _para(document, "{{ date }}", s["sign"])

    annex = _para(document, "附件", s["annex"])
    annex.paragraph_format.page_break_before = True
    _para(document, "{%p for line in list_title_lines %}", s["tag"])
    _para(document, "{{ line }}", s["annex_title"])
    _para(document, "{%p endfor %}", s["tag"])
    _para(document, "（{{ order_note }}，共{{ count }}个党支部）", s["annex_note"])
    _para(document, "{%p if show_parent %}", s["tag"])
    _loop_table(document, [
        ("序号", "{{ r.no }}", 1.3, center),
        ("上级党组织", "{{ r.parent }}", 3.9, left),
        ("党支部名称", "{{ r.name }}", 8.4, left),
        ("{{ level_header }}", "{{ r.level }}", 2.0, center),
    ], s["head"], s["cell"])
    _para(document, "{%p else %}", s["tag"])
    _loop_table(document, [
        ("序号", "{{ r.no }}", 1.8, center),
        ("党支部名称", "{{ r.name }}", 10.6, left),
        ("{{ level_header }}", "{{ r.level }}", 3.0, center),
    ], s["head"], s["cell"])
    _para(document, "{%p endif %}", s["tag"])
    _save(document, path)


def build_internal(path: Path) -> None:
    """The internal list: 软弱涣散/整顿 candidates with every reason, the branches not rated and why, the
    branches left out for data errors. Landscape, marked 内部资料; never published."""
    document = docx.Document()
    _defaults(document, BODY_FONT, 16)
    s = _styles(document)
    section = document.sections[0]
    _a4(section, landscape=True)
    _page_numbers(section, s["footer"])
    center, left = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT

    _para(document, "内部资料　不得公开", s["mark"])
    _title(document, "title_lines", s)
    _para(document, "本名单根据《{{ rubric_name }}》的考核结果生成，供{{ committee }}研究确定软弱涣散党支部"
                    "和整顿对象使用，不在公示范围内，请勿对外公布或张贴。生成日期：{{ date }}。", s["body"])
    reasons = ["{%p for x in r.reasons %}",
               "{% if r.reasons|length > 1 %}{{ loop.index }}. {% endif %}{{ x }}",
               "{%p endfor %}"]
    small = (s["small_head"], s["small_cell"])
    _para(document, "一、软弱涣散和整顿候选党支部（{{ flagged|length }}个）", s["annex"])
    _para(document, "{%p if flagged %}", s["tag"])
    _loop_table(document, [
        ("序号", "{{ r.no }}", 1.2, center),
        ("上级党组织", "{{ r.parent }}", 3.0, left),
        ("党支部名称", "{{ r.name }}", 4.6, left),
        ("考核结果", "{{ r.level }}", 2.0, center),
        ("标记", "{{ r.flags }}", 2.5, center),
        ("原因", reasons, 10.4, left),
    ], *small, loop="r in flagged", can_split=True)
    _para(document, "{%p else %}", s["tag"])
    _para(document, "无。", s["body"])
    _para(document, "{%p endif %}", s["tag"])

    _para(document, "二、取消评定资格的党支部（{{ unrated|length }}个）", s["annex"])
    _para(document, "{%p if unrated %}", s["tag"])
    _loop_table(document, [
        ("序号", "{{ r.no }}", 1.2, center),
        ("上级党组织", "{{ r.parent }}", 3.0, left),
        ("党支部名称", "{{ r.name }}", 4.6, left),
        ("考核结果", "{{ r.level }}", 2.0, center),
        ("原因", reasons, 13.1, left),
    ], *small, loop="r in unrated", can_split=True)
    _para(document, "{%p else %}", s["tag"])
    _para(document, "无。", s["body"])
    _para(document, "{%p endif %}", s["tag"])

    _para(document, "{%p if excluded %}", s["tag"])
    _para(document, "三、因数据有误未参加评定的党支部（{{ excluded|length }}个）", s["annex"])
    _loop_table(document, [
        ("序号", "{{ r.no }}", 1.2, center),
        ("上级党组织", "{{ r.parent }}", 3.0, left),
        ("党支部名称", "{{ r.name }}", 4.6, left),
        ("原因", reasons, 15.1, left),
    ], *small, loop="r in excluded", can_split=True)
    _para(document, "{%p endif %}", s["tag"])
    _save(document, path)


def _settings(document) -> None:
    """Compress full-width punctuation (》，) as Chinese typesetting does; Chinese as the theme language."""
    settings = document.settings.element
    control = settings.find(qn("w:characterSpacingControl"))
    if control is not None:
        control.set(qn("w:val"), "compressPunctuation")
    lang = settings.find(qn("w:themeFontLang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")


def _save(document, path: Path) -> None:
    _settings(document)
    core = document.core_properties  # fixed properties: the same script builds the same document
    core.author = "scoring"
    core.last_modified_by = "scoring"
    core.title = ""
    core.comments = ""
    core.revision = 1
    from datetime import datetime

    core.created = core.modified = datetime(2025, 1, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))


BUILDERS = {"notice.docx": build_notice, "internal.docx": build_internal}


def main(argv: list[str] | None = None) -> int:
    target = Path(argv[0]) if argv else TEMPLATES
    for name, build in BUILDERS.items():
        build(target / name)
        print(f"written {target / name}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
