"""The 公示 as blocks of text, read back from the rendered Word document: what the workbook's 公示预览
sheet shows. Reading the document itself (not the template's variables) keeps the preview identical to
the notice, a county's own template included.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.table import Table
from docx.text.paragraph import Paragraph

from scoring.publish.content import Document, Options, notice
from scoring.publish.dates import period
from scoring.publish.render import default_template, render

ALIGN = {WD_ALIGN_PARAGRAPH.CENTER: "center", WD_ALIGN_PARAGRAPH.RIGHT: "right"}


@dataclass
class Block:
    """A paragraph (``kind`` "p": text, alignment "left"/"center"/"right", its style's name, whether a new
    page starts before it) or a table (``kind`` "table": rows of cell texts, header first)."""

    kind: str
    text: str = ""
    align: str = "left"
    style: str = ""
    page_break: bool = False
    rows: list[list[str]] = field(default_factory=list)


def _alignment(p: Paragraph) -> str:
    align = p.alignment
    if align is None and p.style is not None:
        style = p.style
        while style is not None and align is None:
            align = style.paragraph_format.alignment
            style = style.base_style
    return ALIGN.get(align, "left")


def _page_break(p: Paragraph) -> bool:
    style, value = p.style, p.paragraph_format.page_break_before
    while value is None and style is not None:
        value = style.paragraph_format.page_break_before
        style = style.base_style
    return bool(value)


def blocks(path: Path) -> list[Block]:
    """The body of a Word document in order: paragraphs and tables (python-docx)."""
    out = []
    for item in docx.Document(str(path)).iter_inner_content():
        if isinstance(item, Table):
            out.append(Block("table", rows=[[cell.text for cell in row.cells] for row in item.rows]))
        elif isinstance(item, Paragraph):
            out.append(Block("p", text=item.text, align=_alignment(item),
                             style=item.style.name if item.style is not None else "", page_break=_page_break(item)))
    return out


def default_options(today: date | None = None) -> Options:
    """Today's date, the default period, placeholders for the signing body and the contact (what
    ``scoring publish`` writes without --committee and --contact)."""
    from scoring.publish.command import COMMITTEE_PLACEHOLDER, CONTACT_PLACEHOLDER

    signed = today or date.today()
    start, end, days = period(signed)
    return Options(date=signed, period_from=start, period_to=end, period_days=days,
                   committee=COMMITTEE_PLACEHOLDER, contact=CONTACT_PLACEHOLDER)


def results_heads(result) -> dict:
    """The part of the results contract a notice reads (branch heads, rubric name, year, rating), built
    from a :class:`~scoring.result.Result` without the per-indicator detail."""
    meta = result.meta
    get = meta.get if isinstance(meta, dict) else (lambda k, d=None: getattr(meta, k, d))
    b = result.branches
    heads = b[[c for c in ("branch_id", "name", "category", "parent", "rank", "stars", "grade", "level", "rated")
               if c in b.columns]].copy()
    if "stars" in heads.columns:
        heads["stars"] = heads["stars"].astype(object).where(heads["stars"].notna(), None)
    if "flags" in b.columns:
        heads["flags"] = [[f for f in str(x or "").split("；") if f] for x in b["flags"].tolist()]
    return {"rubric": {"name": get("rubric_name")}, "year": get("year"), "rating": get("rating"),
            "branches": heads.to_dict("records")}


def default_blocks(result, today: date | None = None) -> list[Block]:
    """The 公示预览 of a result with :func:`default_options`."""
    return notice_blocks(results_heads(result), default_options(today))[1]


def notice_blocks(results: dict, options: Options, template: Path | None = None,
                  parent: str | None = None) -> tuple[Document, list[Block]]:
    """The county notice for ``results`` (or the notice of the township ``parent``) rendered with
    ``template`` (default: the shipped one), as blocks."""
    doc = notice(results, options, None, parent)
    with tempfile.TemporaryDirectory(prefix="scoring-preview-") as tmp:
        target = Path(tmp) / "preview.docx"
        render(template or default_template("notice"), doc.context, target)
        return doc, blocks(target)
