"""The workbook's 公示预览 sheet: the county notice exactly as the Word document says it (paragraphs and the
list, read back from the rendered document, see :mod:`scoring.publish.preview`), laid out to print like
it: A4 portrait, the title centred, the body wrapped over the width of the list, the signature right, the
list (附件) from a new page.
"""

from __future__ import annotations

import math

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from scoring.publish.preview import Block

SHEET_PREVIEW = "公示预览"
FONT = "等线"
LINE = 16  # points per line of 11 pt CJK text
# paragraph style of the template -> (font size, bold, lines of spacing after)
STYLES = {
    "公示标题": (16, True),
    "附件标题": (14, True),
    "附件标识": (12, True),
    "附件说明": (10, False),
}
BODY_STYLE = "公示正文"
INDENT = "\u3000\u3000"  # the document's two-character first-line indent
MIN_WIDTH, MAX_WIDTH = 6.0, 40.0


def _units(text: str) -> int:
    """Excel width units: CJK characters count two."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def _lines(text: str, width: float, size: float) -> int:
    usable = max(width - 2.0, 1.0)
    return max(1, math.ceil(_units(text) * size / 11 / usable)) + text.count("\n")


def _widths(rows: list[list[str]]) -> list[float]:
    if not rows:
        return [60.0]
    n = max(len(r) for r in rows)
    out = []
    for c in range(n):
        longest = max((_units(r[c]) for r in rows if c < len(r)), default=0)
        out.append(min(max(longest + 3.0, MIN_WIDTH), MAX_WIDTH))
    return out


def preview_sheet(workbook: Workbook, blocks: list[Block], header_text: str = "") -> Worksheet:
    """Write the 公示预览 sheet from the document's blocks."""
    ws = workbook.add_worksheet(SHEET_PREVIEW)
    tables = [b for b in blocks if b.kind == "table"]
    widths = _widths(tables[0].rows) if tables else [60.0]
    ncols = len(widths)
    total = sum(widths)
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)

    base = {"font_name": FONT, "font_size": 11, "valign": "vcenter", "text_wrap": True}
    formats = {}

    def look(size: float, bold: bool, align: str):
        key = (size, bold, align)
        if key not in formats:
            formats[key] = workbook.add_format({**base, "font_size": size, "bold": bold, "align": align})
        return formats[key]

    border = {"border": 1, "border_color": "#808080"}
    head = workbook.add_format({**base, **border, "bold": True, "align": "center", "bg_color": "#F2F2F2"})
    cell = workbook.add_format({**base, **border, "align": "left"})
    cell_center = workbook.add_format({**base, **border, "align": "center"})

    ws.set_paper(9)
    ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.7, right=0.7, top=0.8, bottom=0.8)
    ws.set_footer("&C— &P —", {"margin": 0.3})
    if header_text:
        ws.set_header('&R&9&"-,Regular"' + header_text.replace("&", "&&"), {"margin": 0.3})
    ws.hide_gridlines(2)
    ws.center_horizontally()

    row = 0
    breaks = []
    for block in blocks:
        if block.kind == "table":
            for r, values in enumerate(block.rows):
                for c in range(ncols):
                    value = values[c] if c < len(values) else ""
                    if r == 0:
                        fmt = head
                    else:
                        fmt = cell_center if len(value) <= 4 else cell
                    ws.write_string(row, c, value, fmt)
                lines = max(_lines(v, widths[c], 11) for c, v in enumerate(values[:ncols])) if values else 1
                if lines > 1:
                    ws.set_row(row, LINE * lines + 2)
                row += 1
            continue
        if block.page_break and row:
            breaks.append(row)
        size, bold = STYLES.get(block.style, (11, False))
        text = block.text
        if block.style == BODY_STYLE and text:
            text = INDENT + text
        fmt = look(size, bold, block.align)
        if ncols > 1:
            ws.merge_range(row, 0, row, ncols - 1, text, fmt)
        else:
            ws.write_string(row, 0, text, fmt)
        lines = _lines(text, total, size) if text else 1
        height = (LINE * size / 11) * lines + 4 if text else 8
        ws.set_row(row, height)
        row += 1
    if breaks:
        ws.set_h_pagebreaks(breaks)
    return ws
