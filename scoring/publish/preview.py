"""The 公示 as blocks of text, read back from the rendered Word document: what the workbook's 公示预览
sheet shows. Reading the document itself (not the template's variables) keeps the preview identical to
the notice, a county's own template included.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.table import Table
from docx.text.paragraph import Paragraph

from scoring.publish.content import Document, Options, notice
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


def notice_blocks(results: dict, options: Options, template: Path | None = None) -> tuple[Document, list[Block]]:
    """The county notice for ``results`` rendered with ``template`` (default: the shipped one), as blocks."""
    doc = notice(results, options)
    with tempfile.TemporaryDirectory(prefix="scoring-preview-") as tmp:
        target = Path(tmp) / "preview.docx"
        render(template or default_template("notice"), doc.context, target)
        return doc, blocks(target)
