"""Word documents from a docxtpl template (Jinja tags in an ordinary .docx).

Why docxtpl: the layout of a 公示 belongs to the county, not to the code. With docxtpl the template is a
Word file that a committee edits in Word (wording, fonts, the seal line) and passes with ``--template``;
the code only supplies variables (:mod:`scoring.publish.content`). python-docx alone would put the layout
into Python. docxtpl is python-docx plus Jinja2, both well kept; it repeats table rows (``{%tr %}``) and
paragraphs (``{%p %}``) and fixes the table grid after rendering.

Variables are escaped (a branch named "A&B" stays text) and an unknown variable is an error naming it,
not an empty gap in a published notice.
"""

from __future__ import annotations

import re
import zipfile
from importlib import resources
from pathlib import Path

import jinja2
from docxtpl import DocxTemplate

from scoring.errors import UsageError

TEMPLATE_HINT = "请检查 {{ }} 与 {% %} 标记是否完整、成对（{%tr for %} 对应 {%tr endfor %}，{%p if %} 对应 {%p endif %}）"


def default_template(kind: str) -> Path:
    """The shipped template: ``notice`` (公示) or ``internal`` (内部名单)."""
    return Path(str(resources.files("scoring.publish") / "templates" / f"{kind}.docx"))


def check_template(path: Path) -> None:
    """A usage error unless ``path`` is a readable .docx (a zip with word/document.xml)."""
    if not path.exists():
        raise UsageError(f"找不到模板文件：{path}")
    if path.is_dir():
        raise UsageError(f"模板路径 {path} 是一个文件夹，应为 Word 文档（.docx）")
    try:
        with zipfile.ZipFile(path) as z:
            z.getinfo("word/document.xml")
    except (zipfile.BadZipFile, KeyError, OSError):
        raise UsageError(f"模板文件 {path} 不是 Word 文档（.docx）；旧版 .doc 请在 Word 中另存为 .docx") from None


def _environment() -> jinja2.Environment:
    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


def template_variables(path: Path) -> set[str]:
    """The top-level variables a template uses (to warn when it lists no branches)."""
    check_template(path)
    try:
        return set(DocxTemplate(str(path)).get_undeclared_template_variables(_environment()))
    except jinja2.TemplateSyntaxError as e:
        raise UsageError(f"模板 {path} 的标记有语法错误（{e.message}）。{TEMPLATE_HINT}") from None


def render(template: Path, context: dict, target: Path) -> None:
    """Render ``template`` with ``context`` into ``target`` (a new file; the caller moves it into place)."""
    doc = DocxTemplate(str(template))
    try:
        doc.render(context, jinja_env=_environment(), autoescape=True)
    except jinja2.UndefinedError as e:
        m = re.search(r"'([^']+)' is undefined", str(e.message))
        name = m.group(1) if m else str(e.message)
        known = "、".join(sorted(k for k in context))
        raise UsageError(f"模板 {template} 用到了不存在的变量「{name}」。可用的变量：{known}") from None
    except jinja2.TemplateSyntaxError as e:
        raise UsageError(f"模板 {template} 的标记有语法错误（{e.message}）。{TEMPLATE_HINT}") from None
    except jinja2.TemplateError as e:
        raise UsageError(f"模板 {template} 无法填写（{e}）。{TEMPLATE_HINT}") from None
    doc.save(str(target))
