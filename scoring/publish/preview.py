"""The 公示 as blocks of text, read back from the rendered Word document: what the workbook's 公示预览
sheet shows. Reading the document itself (not the template's variables) keeps the preview identical to
the notice, a county's own template included.

With the shipped template the document of a large county is not rendered for every preview (a province's
list has a hundred thousand rows, and rendering and reading them back took longer than the rest of the
workbook): the template is rendered once with markers in place of the values (:func:`_skeleton`, cached
per shape of the notice: the number of title lines, whether the list has the 上级党组织 column), and the
preview is those blocks with the values put in, the list's row repeated per branch. That is the rendered
document's text exactly when the template only prints the values and loops over the lists (its tags are
checked), and when no value holds what rendering would change (a line break, a tab, a control character,
a brace of a tag, a blank-only text): such a notice is rendered as before.
"""

from __future__ import annotations

import functools
import html
import re
import tempfile
import zipfile
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
                  parent: str | None = None, frame=None) -> tuple[Document, list[Block]]:
    """The county notice for ``results`` (or the notice of the township ``parent``) rendered with
    ``template`` (default: the shipped one), as blocks. ``frame``: ``branches_frame(results)`` when the
    caller has it (the notices of many townships of one result build it once)."""
    doc = notice(results, options, frame, parent)
    fast = _filled(doc.context) if template is None else None
    if fast is not None:
        return doc, fast
    return doc, rendered_blocks(template or default_template("notice"), doc.context)


def rendered_blocks(template: Path, context: dict) -> list[Block]:
    """The blocks of the document ``template`` renders with ``context`` (rendered and read back)."""
    with tempfile.TemporaryDirectory(prefix="scoring-preview-") as tmp:
        target = Path(tmp) / "preview.docx"
        render(template, context, target)
        return blocks(target)


# --------------------------------------------------------------------------------------------------
# The shipped notice without rendering it per preview

_MARK = re.compile("\ue000(\\d+)\ue001")  # a value's marker in the skeleton's text
ROW_FIELDS = ("no", "name", "parent", "category", "level")  # the fields of a notice's row (content._rows)
# Values rendering would not keep as they are: control characters (line breaks and tabs become breaks and
# tabs of the document, the rest is not XML), what XML cannot hold, the braces of a tag (docxtpl turns
# "{_{" into "{{" after rendering), the markers; and a text of only spaces (a parser may drop it).
_UNSAFE = re.compile("[\x00-\x1f\ud800-\udfff\ufffe\uffff{}\ue000\ue001]")


def _unsafe(texts: list[str]) -> bool:
    return _UNSAFE.search("".join(texts)) is not None or any(t[:1] == " " and not t.strip(" ") for t in texts)


_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_PRINT = re.compile(r"\{\{ *(\w+)(?:\.(\w+))? *\}\}")
_FOR = re.compile(r"\{%(p|tr) +for +(\w+) +in +(\w+) *%\}")
_OTHER = re.compile(r"\{%(?:p +if +(\w+)|p +else|p +endif|(?:p|tr) +endfor) *%\}")


def _text_of(value) -> str:
    """A value as the template prints it (Jinja's str of it, escaped and read back)."""
    return value if isinstance(value, str) else str(value)


def _kinds(context: dict) -> dict[str, str]:
    """Each variable of a notice as the skeleton takes it: "rows", "switch" (a bool: part of the shape),
    "lines" (a list of texts), "value" (printed), "other" (none of these: the template must not use it)."""
    out = {}
    for k, v in context.items():
        if k == "rows":
            out[k] = "rows"
        elif isinstance(v, bool):
            out[k] = "switch"
        elif isinstance(v, (str, int, float)):
            out[k] = "value"
        elif isinstance(v, list) and all(isinstance(x, str) for x in v):
            out[k] = "lines"
        else:
            out[k] = "other"
    return out


def _tags_ok(template: Path, kinds: dict[str, str]) -> bool:
    """The template's tags only print values, loop over the lists (paragraphs) and the rows (table rows),
    and branch on a switch."""
    with zipfile.ZipFile(template) as z:
        text = html.unescape(re.sub(r"<[^>]*>", "", z.read("word/document.xml").decode("utf-8")))
    if "{" in _TAG.sub("", text) or "}" in _TAG.sub("", text) or "\ue000" in text or "\ue001" in text:
        return False
    loops: dict[str, str] = {}
    for tag in _TAG.findall(text):
        if (m := _FOR.fullmatch(tag)) is not None:
            kind = kinds.get(m.group(3))
            if (m.group(1), kind) not in (("p", "lines"), ("tr", "rows")) or m.group(2) in kinds:
                return False
            loops[m.group(2)] = kind
        elif (m := _PRINT.fullmatch(tag)) is not None:
            name, field_name = m.groups()
            kind = loops.get(name) or kinds.get(name)
            if not ((kind == "value" and field_name is None) or (kind == "lines" and name in loops and field_name is None)
                    or (kind == "rows" and name in loops and field_name in ROW_FIELDS)):
                return False
        elif (m := _OTHER.fullmatch(tag)) is not None:
            if m.group(1) is not None and kinds.get(m.group(1)) != "switch":
                return False
        else:
            return False
    return True


@dataclass
class _Skeleton:
    """The blocks of the template rendered with markers: ``tokens`` says what each marker stands for (a
    variable, a line of a list), ``table``/``first``/``size`` where the list's row pattern is (the rows of
    the first marker row; None when no table repeats the rows), ``pattern`` its cells as parts (text, or
    the index of a row field)."""

    blocks: list[Block]
    tokens: list[tuple]
    table: int | None = None
    first: int = 0
    size: int = 0
    pattern: list[list[list]] = field(default_factory=list)


def _shape(context: dict, kinds: dict[str, str]) -> tuple:
    return tuple(sorted((k, kind, context[k] if kind == "switch" else len(context[k]) if kind == "lines" else None)
                        for k, kind in kinds.items()))


@functools.lru_cache(maxsize=32)
def _skeleton(template: str, stamp: tuple, shape: tuple) -> _Skeleton | None:
    """The skeleton of ``template`` (its path; ``stamp`` its size and time, so that a changed file is read
    again) for notices of ``shape``, or None when the template does not allow one."""
    kinds = {k: kind for k, kind, _ in shape}
    if not _tags_ok(Path(template), kinds):
        return None
    tokens: list[tuple] = []

    def mark(what: tuple) -> str:
        tokens.append(what)
        return f"\ue000{len(tokens) - 1}\ue001"

    context = {}
    for k, kind, n in shape:
        if kind == "switch":
            context[k] = n
        elif kind == "value":
            context[k] = mark((k,))
        elif kind == "lines":
            context[k] = [mark((k, i)) for i in range(n)]
        elif kind == "rows":  # two rows, to see the pattern repeat
            context[k] = [{f: mark(("rows", i, f)) for f in ROW_FIELDS} for i in range(2)]
        else:
            context[k] = None
    out = rendered_blocks(Path(template), context)

    def row_marks(text: str) -> set[int]:  # which of the two sample rows a text holds fields of
        return {tokens[int(i)][1] for i in _MARK.findall(text) if tokens[int(i)][0] == "rows"}

    skeleton = _Skeleton(out, tokens)
    for b, block in enumerate(out):
        if block.kind == "p":
            if row_marks(block.text):
                return None
            continue
        seen = [set().union(*map(row_marks, row)) if row else set() for row in block.rows]
        marked = [r for r, s in enumerate(seen) if s]
        if not marked:
            continue
        if skeleton.table is not None:
            return None
        first = [r for r in marked if seen[r] == {0}]
        second = [r for r in marked if seen[r] == {1}]
        size = len(first)
        if (not size or len(second) != size or marked != first + second
                or first != list(range(first[0], first[0] + size)) or second[0] != first[0] + size):
            return None

        def parts(text: str, sample: int) -> list:
            out_parts, at = [], 0
            for m in _MARK.finditer(text):
                token = tokens[int(m.group(1))]
                out_parts.append(text[at:m.start()])
                out_parts.append(("row", token[2]) if token[0] == "rows" else ("token", int(m.group(1))))
                if token[0] == "rows" and token[1] != sample:
                    raise ValueError
                at = m.end()
            out_parts.append(text[at:])
            return out_parts

        try:
            pattern = [[parts(cell, 0) for cell in block.rows[r]] for r in first]
            again = [[parts(cell, 1) for cell in block.rows[r]] for r in second]
        except ValueError:
            return None
        if pattern != again:
            return None
        skeleton.table, skeleton.first, skeleton.size, skeleton.pattern = b, first[0], size, pattern
    return skeleton


def _filled(context: dict) -> list[Block] | None:
    """The blocks of the shipped notice for ``context`` from its skeleton, or None (render it) when a
    value would not come out of the document as it went in."""
    template = default_template("notice")
    kinds = _kinds(context)
    stat = template.stat()
    skeleton = _skeleton(str(template), (stat.st_size, stat.st_mtime_ns), _shape(context, kinds))
    if skeleton is None:
        return None
    values = []
    for token in skeleton.tokens:
        if token[0] == "rows":
            values.append(None)
        else:
            value = context[token[0]] if len(token) == 1 else context[token[0]][token[1]]
            values.append(_text_of(value))
    if _unsafe([v for v in values if v is not None]):
        return None
    rows = context.get("rows") or []
    columns = {}
    if skeleton.table is not None and rows:
        used = {p[1] for row in skeleton.pattern for cell in row for p in cell if isinstance(p, tuple) and p[0] == "row"}
        for f in used:
            columns[f] = [_text_of(r[f]) for r in rows]
            if _unsafe(columns[f]):
                return None

    def fill(text: str) -> str:
        return _MARK.sub(lambda m: values[int(m.group(1))], text) if "\ue000" in text else text

    out = []
    for b, block in enumerate(skeleton.blocks):
        if block.kind == "p":
            out.append(Block("p", text=fill(block.text), align=block.align, style=block.style,
                             page_break=block.page_break))
            continue
        if b != skeleton.table:
            out.append(Block("table", rows=[[fill(c) for c in row] for row in block.rows]))
            continue
        head = [[fill(c) for c in row] for row in block.rows[:skeleton.first]]
        tail = [[fill(c) for c in row] for row in block.rows[skeleton.first + 2 * skeleton.size:]]
        body = []
        for pattern_row in skeleton.pattern if rows else []:
            cells = []
            for cell in pattern_row:
                parts = [p if isinstance(p, str) else (columns[p[1]] if p[0] == "row" else values[p[1]]) for p in cell]
                if len(parts) == 3 and parts[0] == "" and parts[2] == "" and isinstance(parts[1], list):
                    cells.append(parts[1])  # the cell is the field
                else:
                    cells.append(["".join(x if isinstance(x, str) else x[i] for x in parts) for i in range(len(rows))])
            body.append(cells)
        repeated = [[cells[i] for cells in row_cells] for i in range(len(rows)) for row_cells in body]
        out.append(Block("table", rows=head + repeated + tail))
    return out
