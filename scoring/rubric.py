"""Rubric models (TOML -> strict pydantic models) and the loader with cross-checks.

A rubric is configuration: dimensions holding indicators (each naming the measure it uses, its
parameters and a scoring rule), a bonus block, vetoes, grading levels, quotas and ranking rules.
Everything is validated strictly (``extra="forbid"``); errors are rendered as
``rubrics/x.toml: dimensions[1].indicators[3].rule.per: 必须大于 0``.

Key paths in messages are 1-based for arrays of tables, as a rubric author counts them in the file.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from . import rules
from .errors import RubricCode, RubricError, RubricProblem, located
from .rules import MODELS, RULE_TYPES, ExtraDeduction, Step  # noqa: F401  (Step: the steps rule's row model)
from .rules.base import Params
from .rules.deduct_shortfall import DeductShortfall  # noqa: F401  (rule models, importable from here too)
from .rules.linear import Linear  # noqa: F401
from .rules.manual import Manual  # noqa: F401
from .rules.pass_fail import PassFail  # noqa: F401
from .rules.per_event import PerEvent  # noqa: F401
from .rules.per_unit import PerUnit  # noqa: F401
from .rules.ratio import Ratio  # noqa: F401
from .rules.steps import Steps  # noqa: F401
from .plugin_files import local_plugin_path

OPS = ("<", "<=", ">", ">=", "==", "!=")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)




# ---------------------------------------------------------------- rules (one module each: scoring.rules)
Rule = Annotated[Union[MODELS], Field(discriminator="type")]


class Indicator(Strict):
    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: str = Field(min_length=1)
    max: float = Field(gt=0)
    measure: str
    params: Params = Field(default_factory=dict)
    rule: Rule
    extra_deductions: list[ExtraDeduction] = Field(default_factory=list)
    categories: list[str] | None = None  # applies only to these branch categories (others: not applicable)
    explain: str | None = None  # optional sentence template overriding the rule's default wording
    note: str | None = None  # author's comment shown in the audit sheet


class Dimension(Strict):
    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: str = Field(min_length=1)
    max: float | None = Field(default=None, gt=0)
    star_share: float | None = Field(default=None, gt=0, le=1)  # per_dimension model: share of max for the star
    star_name: str | None = None  # per_dimension model: the star's name, e.g. "支部过硬星"
    indicators: list[Indicator] = Field(min_length=1)

    @property
    def total_max(self) -> float:
        return self.max if self.max is not None else sum(i.max for i in self.indicators)


# ---------------------------------------------------------------- bonus, vetoes, grading
class Bonus(Strict):
    """Bonus block: claims from a claims measure, points by level, highest level per work, a cap."""

    name: str = "加分项"
    measure: str | None = None  # a claims measure; by default the only one the plugins provide
    cap: float = Field(gt=0)
    points: dict[str, float] = Field(min_length=1)  # level -> points, e.g. {"国家级" = 5}
    kinds: list[str] | None = None  # only these claim kinds count (None: all)
    require_document: bool = True
    require_approved: bool = True
    highest_only: bool = True  # for the same work (same title), only the highest level counts

    @field_validator("points")
    @classmethod
    def _positive(cls, v):
        for k, p in v.items():
            if p < 0:
                raise ValueError(f"级别「{k}」的分值不能为负数")
        return v


class VetoCondition(Strict):
    """``measure`` (with params) or ``indicator`` (its measured value) compared with ``value``."""

    measure: str | None = None
    params: Params = Field(default_factory=dict)
    indicator: str | None = None
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    value: float
    if_missing: bool = False  # whether a missing measurement (no data at all) counts as the condition holding

    @model_validator(mode="after")
    def _one_source(self):
        if (self.measure is None) == (self.indicator is None):
            raise ValueError("必须且只能写 measure 或 indicator 中的一个")
        return self


class Veto(Strict):
    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: str = Field(min_length=1)
    when: VetoCondition
    effect: Literal["no_rating", "cap", "deduct", "flag", "award"]
    cap_level: str | None = None  # for effect "cap": the highest level label allowed
    award_level: str | None = None  # for effect "award" (直接定级): the level awarded whatever the score
    points: float | None = Field(default=None, gt=0)  # for effect "deduct"
    flag: str | None = None  # a flag added when the veto fires (any effect), e.g. "软弱涣散候选"
    explain: str | None = None  # Chinese sentence template; {value} is the measured value
    categories: list[str] | None = None

    @model_validator(mode="after")
    def _effect_fields(self):
        if self.effect == "cap" and not self.cap_level:
            raise ValueError("effect = \"cap\" 时必须写 cap_level")
        if self.effect == "deduct" and self.points is None:
            raise ValueError("effect = \"deduct\" 时必须写 points")
        if self.effect == "award" and not self.award_level:
            raise ValueError("effect = \"award\" 时必须写 award_level")
        if self.effect == "flag" and not self.flag:
            raise ValueError("effect = \"flag\" 时必须写 flag")
        return self


class Warning_(Strict):
    """A warning (预警): shown to the committee and the branch, with no effect on points or level."""

    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: str = Field(min_length=1)
    when: VetoCondition
    explain: str | None = None  # Chinese sentence template; {evidence}, {value}, {name}
    categories: list[str] | None = None


class Level(Strict):
    label: str = Field(min_length=1)
    min: float  # the total's minimum; in the per_dimension model, the number of stars earned
    min_total: float | None = None  # per_dimension model: the total must also reach this (绍兴: >= 450 of 500)
    stars: int | None = Field(default=None, ge=0, le=10)
    requires: list[VetoCondition] = Field(default_factory=list)  # extra conditions for this level
    requires_text: str | None = None  # Chinese description of the extra condition


class Section(Strict):
    """A weighted section of the total: (points of ``dimensions`` - points lost in ``deduct_dimensions``)
    / max of ``dimensions`` x scale x ``weight`` (e.g. (基础项 - 减分项) x 70% + 评议项 x 30%)."""

    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: str = Field(min_length=1)
    dimensions: list[str] = Field(min_length=1)
    deduct_dimensions: list[str] = Field(default_factory=list)
    weight: float = Field(gt=0, le=1)


class Grading(Strict):
    # stars: total -> stars; grade: total -> 好/较好/一般/较差; per_dimension: a star per dimension reaching
    # its threshold, level = stars earned; points: 积分制, base + additions - deductions, may exceed 100
    model: Literal["stars", "grade", "per_dimension", "points"] = "stars"
    scale: float = Field(default=100, gt=0)
    base: float = Field(default=100, ge=0)  # points model: the starting points (基准分)
    not_applicable: Literal["rescale", "full_marks"] = "rescale"
    star_share: float = Field(default=0.85, gt=0, le=1)  # per_dimension model: default star threshold
    sections: list[Section] = Field(default_factory=list)  # weighted blending; empty: one section, weight 1
    levels: list[Level] = Field(min_length=1)
    unrated_label: str = "未评定"

    @model_validator(mode="after")
    def _order(self):
        labels = [lv.label for lv in self.levels]
        if len(set(labels)) != len(labels):
            raise ValueError(f"等级名称重复：{labels}")
        if self.model in ("stars", "per_dimension") and any(lv.stars is None for lv in self.levels):
            raise ValueError("星级模式下每个等级都必须写 stars")
        if self.model == "grade" and any(lv.stars is not None for lv in self.levels):
            raise ValueError("等次模式（grade）下等级不能写 stars")
        if self.sections and abs(sum(x.weight for x in self.sections) - 1) > 1e-9:
            raise ValueError(f"各部分权重之和应为 1，实际为 {sum(x.weight for x in self.sections):g}")
        return self

    @property
    def rates_stars(self) -> bool:
        return all(lv.stars is not None for lv in self.levels)


class Quota(Strict):
    level: str
    max_share: float = Field(gt=0)
    scope: Literal["county", "parent", "category"] = "county"
    rounding: Literal["floor", "round", "ceil"] = "floor"

    @field_validator("max_share")
    @classmethod
    def _share(cls, v):
        if v > 1:
            raise ValueError("名额比例不能超过 1（即 100%；比例请写成小数：15% 写 0.15）")
        return v


class Rectification(Strict):
    bottom_share: float = Field(gt=0, le=1)
    scope: Literal["county", "parent", "category"] = "county"
    rounding: Literal["floor", "round", "ceil"] = "floor"
    flag: str = "整顿候选"


class Ranking(Strict):
    # Ranking is on the published total: rounded half up at ``precision`` decimals (the 总排名 shows it so).
    # Equal published totals are ordered by the tie-break keys (each descending, each at the same precision):
    # "base_total", "bonus", or "dimension:<id>"; branches still equal share the rank (并列) and are listed
    # by branch id. At a quota line equals are never split: "drop_all" (default: the written quota is never
    # broken, all of them drop a level and the committee is told) or "keep_all" (all keep the level; the
    # note says how many extra places that used).
    tie_break: list[str] = Field(default_factory=lambda: ["base_total"])
    scope: Literal["county", "parent", "category"] = "county"  # scope_rank is the rank within this scope
    precision: int = Field(default=2, ge=0, le=4)
    ties_at_quota: Literal["drop_all", "keep_all"] = "drop_all"


class Variant(Strict):
    """The rubric as it applies to some branch categories: the base dimensions with the variant's
    changes merged in (resolved at load time, so ``dimensions`` is complete)."""

    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: str = Field(min_length=1)
    categories: list[str] = Field(min_length=1)
    dimensions: list[Dimension] = Field(min_length=1)


class Rubric(Strict):
    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")
    name: str
    version: str = "1"
    year: int = Field(ge=2000, le=2100)
    scheme: str | None = None  # which kind of scheme it follows (free text)
    grading: Grading
    dimensions: list[Dimension] = Field(min_length=1)
    bonus: Bonus | None = None
    vetoes: list[Veto] = Field(default_factory=list)
    warnings: list[Warning_] = Field(default_factory=list)
    quotas: list[Quota] = Field(default_factory=list)
    rectification: Rectification | None = None
    ranking: Ranking = Field(default_factory=Ranking)
    variants: list[Variant] = Field(default_factory=list)
    plugins: list[str] = Field(default_factory=list)  # local plugin files (resolved to absolute paths)

    def indicators(self) -> list[tuple[Dimension, Indicator]]:
        return [(d, i) for d in self.dimensions for i in d.indicators]

    def all_indicators(self) -> list[tuple[Dimension, Indicator]]:
        """Indicators of the base and of every variant (a variant's override appears once per variant)."""
        out = self.indicators()
        for v in self.variants:
            out += [(d, i) for d in v.dimensions for i in d.indicators]
        return out

    def dimensions_for(self, category: str) -> list[Dimension]:
        for v in self.variants:
            if category in v.categories:
                return v.dimensions
        return self.dimensions

    def level_index(self, label: str) -> int:
        return [lv.label for lv in self.grading.levels].index(label)

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=True), ensure_ascii=False, sort_keys=True)


# ---------------------------------------------------------------- loading
_MSG = {
    "missing": "缺少必填项",
    "extra_forbidden": "未知的键（拼写错误？）",
    "literal_error": "取值无效",
    "union_tag_invalid": "未知的类型",
    "union_tag_not_found": "缺少 type",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为数组",
    "dict_type": "应为表（table）",
    "model_type": "应为表（table）",
    "model_attributes_type": "应为表（table）",
    "too_short": "至少需要一项",
    "string_too_short": "不能为空",
    "string_pattern_mismatch": "只能使用英文字母、数字和下划线，且不能以数字开头",
    "too_long": "项数过多",
    "string_too_long": "过长",
    "finite_number": "应为有限的数字",
    "bool_parsing_error": "应为 true 或 false",
    "datetime_type": "应为数字或文本，不能写日期",
    "date_type": "应为数字或文本，不能写日期",
    "time_type": "应为数字或文本，不能写时间",
}


def _zh_message(err: dict) -> str:
    t = err["type"]
    ctx = err.get("ctx") or {}
    if t == "greater_than":
        return f"必须大于 {ctx.get('gt'):g}"
    if t == "greater_than_equal":
        return f"必须大于或等于 {ctx.get('ge'):g}"
    if t == "less_than_equal":
        return f"必须小于或等于 {ctx.get('le'):g}"
    if t == "less_than":
        return f"必须小于 {ctx.get('lt'):g}"
    from .checks import suggest

    if t == "literal_error":
        import re

        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        got = err.get("input")
        shown = f"「{got}」" if isinstance(got, (str, int, float)) and not isinstance(got, bool) else ""
        return f"取值{shown}无效{suggest(got, allowed)}（可用：{'、'.join(allowed)}）"
    if t == "union_tag_invalid":
        return f"未知的类型「{ctx.get('tag')}」{suggest(ctx.get('tag'), RULE_TYPES)}（可用：{'、'.join(RULE_TYPES)}）"
    if t == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if t == "extra_forbidden":
        key = next((p for p in reversed(err["loc"]) if isinstance(p, str)), "")
        hint = suggest(key, _known_keys())
        return f"未知的键「{key}」{hint}" if hint else _MSG[t]
    return _MSG.get(t, "取值无效")


def _known_keys() -> list[str]:
    """Every key a rubric may write (the fields of its models and of the rule models), for "did you mean"."""
    seen: set[type] = set()
    keys: set[str] = set()

    def walk(model):
        if model in seen or not (isinstance(model, type) and issubclass(model, BaseModel)):
            return
        seen.add(model)
        for name, f in model.model_fields.items():
            keys.add(name)
            for arg in _types_in(f.annotation):
                walk(arg)

    walk(Rubric)
    for m in MODELS:
        walk(m)
    walk(ExtraDeduction)
    walk(Step)
    return sorted(keys)


def _types_in(tp) -> list:
    from typing import get_args

    out = [tp]
    for a in get_args(tp):
        out += _types_in(a)
    return out


SHARE_KEYS = frozenset({"max_share", "bottom_share", "star_share", "weight"})


def _share_hint(err: dict, message: str) -> str:
    """A share written as a percent (max_share = 15) is refused with how to write it (0.15)."""
    last = next((p for p in reversed(err["loc"]) if isinstance(p, str)), "")
    x = err.get("input")
    if last in SHARE_KEYS and isinstance(x, (int, float)) and not isinstance(x, bool) and x > 1:
        if float(x).is_integer() and x <= 100:  # 15 meant 15%
            return message.split("（即 100%")[0] + f"（比例请写成小数：{x:g}% 写 {x / 100:g}）"
        if "小数" not in message:
            return message + "（比例请写成小数：15% 写 0.15）"
    return message


def _owner(data: dict, loc: tuple) -> str:
    """The indicator, veto or warning a schema error lies in, as messages name it: 指标「党课」（party_lectures）：."""
    def at(container, key, i):
        items = container.get(key) if isinstance(container, dict) else None
        return items[i] if isinstance(items, list) and isinstance(i, int) and i < len(items) and isinstance(items[i], dict) else None

    def named(x, what):
        if not x or not isinstance(x.get("id"), str):
            return ""
        return f"{what}「{x.get('name') or x['id']}」（{x['id']}）："

    parts = list(loc)
    owner = data
    if parts[:1] == ["variants"] and len(parts) > 2:
        owner, parts = at(data, "variants", parts[1]), parts[2:]
    if len(parts) > 4 and parts[0] == "dimensions" and parts[2] == "indicators":
        return named(at(at(owner, "dimensions", parts[1]) or {}, "indicators", parts[3]), "指标")
    if len(parts) > 2 and parts[0] in ("vetoes", "warnings") and owner is data:
        return named(at(data, parts[0], parts[1]), "否决项" if parts[0] == "vetoes" else "预警")
    return ""


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        elif part in RULE_TYPES or part.startswith("function-"):
            continue  # discriminator tags and validator wrappers are not keys the author wrote
        else:
            out += ("." if out else "") + str(part)
    return out or "(顶层)"


def _dedupe_variant_errors(errors: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A variant carries the base dimensions merged in, so one mistake in the base would be reported once
    more per variant; keep the base's line and drop the variants' copies of it."""
    base = {(p, m) for p, m in errors if not p.startswith("variants[")}
    out = []
    for p, m in errors:
        if p.startswith("variants[") and "." in p:
            rest = p.split(".", 1)[1]
            if (rest, m) in base:
                continue
        out.append((p, m))
    return out


def parse_rubric(data: dict, source: str) -> Rubric:
    try:
        return Rubric.model_validate(data)
    except ValidationError as e:
        errors = _dedupe_variant_errors([(_key_path(err["loc"]), _owner(data, err["loc"]) + _share_hint(err, _zh_message(err)))
                                         for err in e.errors()])
        raise RubricError([RubricProblem(RubricCode.SCHEMA, f"{source}: {p}: {m}") for p, m in errors]) from None


def builtin_rubric_path(name: str) -> Path | None:
    """The path of a built-in rubric by name ("five_star" or "five_star.toml"), or None."""
    fname = name if name.endswith(".toml") else name + ".toml"
    base = resources.files("rubrics")
    cand = base.joinpath(fname)
    return Path(str(cand)) if cand.is_file() else None


def resolve_rubric_path(spec: str | Path | None, relative_to: Path | None = None) -> Path | None:
    """A rubric file by path (relative to ``relative_to`` when given) or by built-in name; None if absent."""
    if spec is None:
        spec = "five_star"
    p = Path(spec)
    if relative_to is not None and not p.is_absolute() and (relative_to / p).is_file():
        return relative_to / p
    if p.is_file():
        return p
    if p.suffix in ("", ".toml") and not p.is_absolute() and ".." not in p.parts:  # also "examples/county_custom"
        return builtin_rubric_path(p.as_posix())
    return None


def builtin_shown(path: Path) -> str:
    """A built-in rubric's path inside the rubrics folder ("five_star.toml", "examples/county_custom.toml")."""
    root = Path(str(resources.files("rubrics")))
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def builtin_names() -> list[str]:
    base = resources.files("rubrics")
    return sorted(p.name[:-5] for p in base.iterdir() if p.name.endswith(".toml") and not p.name.startswith("_"))


_TOML_ERRORS_ZH = (
    ("Invalid value", "值无效（文字要用英文双引号括起来，数字不要带单位）"),
    ("Expected newline or end of document after a statement", "一行只能写一项（值后面多了内容？）"),
    ("Invalid initial character for a key part", "键名有误（是否用了中文标点或中文引号？）"),
    ("Invalid statement", "这一行写法有误"),
    ("Cannot overwrite a value", "同一个键写了两次"),
    ("Cannot declare", "同一个表写了两次"),
    ("Unclosed array", "数组缺少右方括号 ]"),
    ("Unclosed inline table", "内联表缺少右花括号 }"),
    ("Unterminated string", "文字缺少结尾的英文双引号"),
    ("Illegal character", "含有不允许的字符"),
)


def _toml_error_zh(msg: str) -> str:
    """tomllib's English message as a Chinese one, keeping the position: 第3行第8列."""
    import re

    where = ""
    m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    if m:
        where = f"第{m.group(1)}行第{m.group(2)}列："
    for en, zh in _TOML_ERRORS_ZH:
        if msg.startswith(en):
            return f"{where}{zh}"
    return f"{where}{msg}"


MAX_RUBRIC_BYTES = 4 << 20  # a rubric is a few kilobytes; anything this large is not one
MAX_NESTING = 20  # tables and arrays inside each other (the standard rubrics go 9 deep)

_UTF8_BOM = b"\xef\xbb\xbf"
_BINARY_KINDS = (
    (b"PK\x03\x04", "Excel 工作簿（.xlsx）或压缩文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Excel（.xls）或 Word 文件"),
    (b"%PDF", "PDF 文件"),
    (b"\x89PNG", "图片"),
    (b"\xff\xd8\xff", "图片"),
)


def _toml_text(raw: bytes, shown: str) -> str:
    """The rubric file's text: UTF-8 (a leading BOM, as Windows Notepad writes it, is accepted). Any other
    encoding or a binary file is a located Chinese error saying how to save the file correctly."""
    for magic, kind in _BINARY_KINDS:
        if raw.startswith(magic):
            raise RubricError([RubricProblem(RubricCode.NOT_TEXT, f"{shown}: 文件是{kind}，不是文本格式的评分标准（是否把其他文件的扩展名改成了 .toml？）")])
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RubricError([RubricProblem(RubricCode.ENCODING, f"{shown}: 文件是 UTF-16 编码（记事本中的“Unicode”），评分标准必须是 UTF-8 编码："
                           "请用记事本打开，“另存为”时编码选“UTF-8”")])
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM):]
    if b"\x00" in raw[:8192]:
        raise RubricError([RubricProblem(RubricCode.NOT_TEXT, f"{shown}: 文件含有二进制内容，不是文本格式的评分标准")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        try:
            raw.decode("gb18030")
        except UnicodeDecodeError:
            kind, at = "不是 UTF-8 编码", e.start
        else:  # the first Chinese character (some GBK pairs happen to be valid UTF-8: the error comes later)
            kind = "是 GBK/ANSI 编码（中文 Windows 记事本的默认编码），不是 UTF-8"
            at = next(i for i, byte in enumerate(raw) if byte >= 0x80)
        line = raw.count(b"\n", 0, at) + 1
        begin = raw.rfind(b"\n", 0, at) + 1
        end = raw.find(b"\n", at)
        text_line = raw[begin:end if end >= 0 else len(raw)]
        try:
            shown_line = text_line.decode("gb18030").strip()
            column = len(raw[begin:at].decode("gb18030", "replace")) + 1
            where = f"第{line}行第{column}列"
        except UnicodeDecodeError:
            shown_line, where = "", f"第{line}行"
        line_text = f"（「{shown_line[:40]}」）" if shown_line else ""
        raise RubricError([RubricProblem(RubricCode.ENCODING, f"{shown}: {where}{line_text}：文件{kind}；评分标准必须是 UTF-8 编码："
                           "请用记事本打开，“另存为”时编码选“UTF-8”")]) from None


def _too_deep(data) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_NESTING:
            return True
        if isinstance(value, dict):
            stack += [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            stack += [(v, depth + 1) for v in value]
    return False


def _percent_hint(text: str, e) -> str:
    """"（百分数请写成小数：15% 写 0.15）" when the error stands on a number followed by "%"."""
    import re

    m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
    lines = text.splitlines()
    line = lines[int(m.group(1)) - 1] if m and int(m.group(1)) <= len(lines) else ""
    hit = re.search(r"=\s*(\d+(?:\.\d+)?)\s*[%％]", line)
    if not hit:
        return ""
    x = float(hit.group(1)) / 100
    return f"（百分数请写成小数：{hit.group(1)}% 写 {x:g}）"


def read_toml(path: Path, shown: str) -> dict:
    """A rubric file as a dict. Every way a file people save can be wrong (another encoding, a workbook
    renamed .toml, a huge or absurdly nested file, a syntax error) is a :class:`RubricError` naming the
    file, never a traceback."""
    import stat

    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise RubricError([RubricProblem(RubricCode.UNREADABLE_FILE, f"{shown}: 不是普通文件，无法作为评分标准读取")])
        if st.st_size > MAX_RUBRIC_BYTES:
            raise RubricError([RubricProblem(RubricCode.UNREADABLE_FILE, f"{shown}: 文件有 {st.st_size:,} 字节，不像是评分标准（评分标准通常只有几千字节）")])
        raw = path.read_bytes()
    except OSError as e:
        raise RubricError([RubricProblem(RubricCode.UNREADABLE_FILE, f"{shown}: 无法读取：{e.strerror}")]) from None
    text = _toml_text(raw, shown)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RubricError([RubricProblem(RubricCode.TOML_SYNTAX, f"{shown}: TOML 语法错误：{_toml_error_zh(str(e))}{_percent_hint(text, e)}")]) from None
    except RecursionError:
        data = None
    if data is None or _too_deep(data):
        raise RubricError([RubricProblem(RubricCode.TOML_SYNTAX, f"{shown}: 嵌套层数过多（数组或表的嵌套超过{MAX_NESTING}层），不像是评分标准")])
    return data


# ---------------------------------------------------------------- extends: merge rules
# How a child rubric's keys merge into the rubric it extends (documented for rubric authors in docs/):
#   - scalars and plain arrays: the child's value replaces the parent's;
#   - tables (grading, bonus, ranking, rectification, bonus.points ...): merged key by key, recursively;
#   - "rule", "params", "when", "requires", "steps", "categories", "extra_deductions", ranking.tie_break,
#     grading.levels and grading.sections: replaced as a whole (a rule, a level ladder, a blend is one unit);
#   - arrays of tables with an identity — dimensions, indicators, vetoes and variants by "id", quotas by
#     (level, scope): an entry with the same identity is merged into the parent's entry, a new identity is
#     appended;
#   - "plugins": the union, each path relative to the file that names it;
#   - "drop" (child only): {dimensions = [...], indicators = [...], vetoes = [...], quotas = ["level", ...],
#     variants = [...]} removes inherited entries before the child's own entries are merged in.
REPLACED = frozenset({
    "rule", "params", "when", "requires", "steps", "categories", "tie_break", "extra_deductions", "levels", "sections",
})
IDENTITY = {"dimensions": "id", "indicators": "id", "vetoes": "id", "warnings": "id", "variants": "id"}


def _merge_list(base: list, child: list, key) -> list:
    out = [dict(x) if isinstance(x, dict) else x for x in base]
    for item in child:
        ident = key(item) if isinstance(item, dict) else None
        match = next((i for i, x in enumerate(out) if isinstance(x, dict) and ident is not None and key(x) == ident), None)
        if match is None:
            out.append(item)
        else:
            out[match] = merge_tables(out[match], item)
    return out


def merge_tables(base: dict, child: dict) -> dict:
    out = dict(base)
    for k, v in child.items():
        b = base.get(k)
        if k in REPLACED or b is None:
            out[k] = v
        elif k in IDENTITY and isinstance(v, list) and isinstance(b, list):
            ident = IDENTITY[k]
            out[k] = _merge_list(b, v, lambda x, ident=ident: x.get(ident))
        elif k == "quotas" and isinstance(v, list) and isinstance(b, list):
            out[k] = _merge_list(b, v, lambda x: (x.get("level"), x.get("scope", "county")))
        elif k == "plugins" and isinstance(v, list) and isinstance(b, list):
            out[k] = b + [x for x in v if x not in b]
        elif isinstance(v, dict) and isinstance(b, dict):
            out[k] = merge_tables(b, v)
        else:
            out[k] = v
    return out


def _apply_drop(data: dict, drop: dict, where: str) -> tuple[dict, list[str]]:
    problems: list[str] = []
    if not isinstance(drop, dict):
        return data, [f"{where}: 应为表（table），如 drop = {{ indicators = [\"party_lectures\"] }}"]
    data = dict(data)
    for kind, ids in drop.items():
        if not isinstance(ids, list):
            problems.append(RubricProblem(RubricCode.SCHEMA, f"{where}.{kind}: 应为数组"))
            continue
        if kind == "indicators":
            dims = [dict(d) for d in data.get("dimensions", [])]
            present = {i.get("id") for d in dims for i in d.get("indicators", [])}
            for d in dims:
                d["indicators"] = [i for i in d.get("indicators", []) if i.get("id") not in ids]
            data["dimensions"] = dims
        elif kind in ("dimensions", "vetoes", "warnings", "variants"):
            present = {x.get("id") for x in data.get(kind, [])}
            data[kind] = [x for x in data.get(kind, []) if x.get("id") not in ids]
        elif kind == "quotas":
            present = {x.get("level") for x in data.get("quotas", [])}
            data["quotas"] = [x for x in data.get("quotas", []) if x.get("level") not in ids]
        else:
            problems.append(RubricProblem(RubricCode.SCHEMA, f"{where}.{kind}: 未知的键（可用：dimensions、indicators、vetoes、warnings、quotas、variants）"))
            continue
        for i in ids:
            if i not in present:
                from .checks import suggest

                problems.append(RubricProblem(RubricCode.UNKNOWN_REFERENCE, f"{where}.{kind}: 被继承的评分标准中没有「{i}」，无法删除{suggest(i, sorted(p for p in present if p))}"))
    return data, problems


def _entries(data, key: str) -> list[tuple[int, dict]]:
    items = data.get(key) if isinstance(data, dict) else None
    return [(i, x) for i, x in enumerate(items, 1) if isinstance(x, dict)] if isinstance(items, list) else []


def _name(x: dict, ident) -> str:
    name = x.get("name")
    return f"「{name}」（{ident}）" if isinstance(name, str) and name else f"「{ident}」"


def _duplicates_in_dimensions(dims_owner: dict, prefix: str) -> list[str]:
    out = []
    seen_dims: dict = {}
    seen_inds: dict = {}
    for di, d in _entries(dims_owner, "dimensions"):
        dpath = f"{prefix}dimensions[{di}]"
        did = d.get("id")
        if isinstance(did, str):
            if did in seen_dims:
                out.append(RubricProblem(RubricCode.DUPLICATE_ID, f"{dpath}.id: 维度{_name(d, did)}的标识与 {seen_dims[did]} 重复，每个维度的标识必须不同"))
            seen_dims.setdefault(did, dpath)
        for ii, ind in _entries(d, "indicators"):
            iid = ind.get("id")
            if not isinstance(iid, str):
                continue
            ipath = f"{dpath}.indicators[{ii}]"
            if iid in seen_inds:
                other, oname = seen_inds[iid]
                out.append(RubricProblem(RubricCode.DUPLICATE_ID, f"{ipath}.id: 指标{_name(ind, iid)}的标识与指标{oname}（{other}）重复，每个指标的标识必须不同"))
            seen_inds.setdefault(iid, (ipath, f"「{ind.get('name') or iid}」"))
    return out


def raw_duplicates(data: dict, shown: str) -> list[str]:
    """Duplicate ids within one rubric file, before ``extends`` merging (which would silently merge the
    second entry into the first): dimensions, indicators (across dimensions), vetoes, warnings, variants,
    levels, sections and quotas (level and scope), and each variant's own dimensions."""
    out = _duplicates_in_dimensions(data, "")
    for key, what in (("vetoes", "否决项"), ("warnings", "预警"), ("variants", "类别变体")):
        seen: dict = {}
        for i, x in _entries(data, key):
            ident = x.get("id")
            if not isinstance(ident, str):
                continue
            if ident in seen:
                out.append(RubricProblem(RubricCode.DUPLICATE_ID, f"{key}[{i}].id: {what}{_name(x, ident)}的标识与 {key}[{seen[ident]}] 重复"))
            seen.setdefault(ident, i)
    grading = data.get("grading") if isinstance(data.get("grading"), dict) else {}
    for key, ident_key, what in (("levels", "label", "等级"), ("sections", "id", "部分")):
        seen = {}
        for i, x in _entries(grading, key):
            ident = x.get(ident_key)
            if not isinstance(ident, str):
                continue
            if ident in seen:
                out.append(RubricProblem(RubricCode.DUPLICATE_ID, f"grading.{key}[{i}].{ident_key}: {what}「{ident}」与 grading.{key}[{seen[ident]}] 重复"))
            seen.setdefault(ident, i)
    seen = {}
    for i, q in _entries(data, "quotas"):
        ident = (q.get("level"), q.get("scope", "county"))
        if ident in seen:
            out.append(RubricProblem(RubricCode.DUPLICATE_ID, f"quotas[{i}]: 等级「{ident[0]}」在同一范围（{ident[1]}）内的名额与 quotas[{seen[ident]}] 重复设置"))
        seen.setdefault(ident, i)
    for vi, v in _entries(data, "variants"):
        out += _duplicates_in_dimensions(v, f"variants[{vi}].")
    return [located(shown, m) for m in out]


def added_duplicates(base: dict, child: dict, where: str, parent: str, prefix: str = "") -> list[str]:
    """Indicators a child file adds (in another dimension) under an id the rubric it extends already has:
    merging keeps both, so the child meant to change the parent's indicator but added a second one."""
    have = {}
    for _, d in _entries(base, "dimensions"):
        for _, ind in _entries(d, "indicators"):
            if isinstance(ind.get("id"), str):
                have.setdefault(ind["id"], (d.get("id"), d.get("name") or d.get("id"), ind.get("name") or ind["id"]))
    out = []
    for di, d in _entries(child, "dimensions"):
        for ii, ind in _entries(d, "indicators"):
            iid = ind.get("id")
            if iid in have and have[iid][0] != d.get("id"):
                pdim, pdname, pname = have[iid]
                out.append(RubricProblem(RubricCode.DUPLICATE_ID, f"{where}: {prefix}dimensions[{di}].indicators[{ii}].id: 指标{_name(ind, iid)}：{parent}已在维度"
                           f"「{pdname}」（{pdim}）中有标识为「{iid}」的指标「{pname}」，写在维度「{d.get('name') or d.get('id')}」（{d.get('id')}）下是新增了"
                           f"一个同标识的指标，而不是修改它（要修改请写在维度「{pdname}」（{pdim}）下，要新增请换一个标识）"))
    return out


def _read_raw(path: Path, shown: str, chain: tuple[Path, ...], chain_shown: tuple[str, ...]) -> dict:
    data = read_toml(path, shown)
    problems = raw_duplicates(data, shown)
    if problems:
        raise RubricError(problems)
    base_dir = path.parent
    if "plugins" in data and isinstance(data["plugins"], list):
        data["plugins"] = [local_plugin_path(base_dir, p, shown, i) if isinstance(p, str) else p
                           for i, p in enumerate(data["plugins"], 1)]
    ext = data.pop("extends", None)
    if ext is None:
        return data
    parents = [ext] if isinstance(ext, str) else ext
    if not isinstance(parents, list) or not all(isinstance(x, str) for x in parents):
        raise RubricError([RubricProblem(RubricCode.EXTENDS, f"{shown}: extends: 应为文件名或文件名数组")])
    merged: dict = {}
    for parent in parents:
        ppath = resolve_rubric_path(parent, relative_to=base_dir)
        if ppath is None:
            from .checks import suggest

            names = builtin_names()
            raise RubricError([RubricProblem(RubricCode.EXTENDS, f"{shown}: extends: 找不到被继承的评分标准「{parent}」{suggest(Path(parent).stem, names)}"
                               f"（内置评分标准：{'、'.join(names)}；也可写相对于本文件的路径）")])
        if ppath.resolve() in chain:
            names = list(chain_shown[chain.index(ppath.resolve()):]) + [parent]
            raise RubricError([RubricProblem(RubricCode.EXTENDS, f"{shown}: extends: 继承出现循环：{' 继承 '.join(names)}")])
        pdata = _read_raw(ppath, parent, chain + (ppath.resolve(),), chain_shown + (parent,))
        merged = merge_tables(merged, pdata)
    drop = data.pop("drop", None)
    if drop is not None:  # drop removes inherited entries, before this file's own are merged in
        merged, problems = _apply_drop(merged, drop, f"{shown}: drop")
        if problems:
            raise RubricError(problems)
    names = "、".join(f"「{p}」" for p in parents)
    problems = added_duplicates(merged, data, shown, f"被继承的评分标准{names}")
    if problems:
        raise RubricError(problems)
    return merge_tables(merged, data)


def _expand_variants(data: dict, shown: str) -> dict:
    """Resolve each variant's dimension changes against the (final) base dimensions."""
    variants = data.get("variants")
    if not isinstance(variants, list):
        return data
    out = []
    problems = []
    for vi, v in enumerate(variants, 1):
        if not isinstance(v, dict):
            out.append(v)
            continue
        v = dict(v)
        problems += added_duplicates(data, v, shown, "基础评分标准", prefix=f"variants[{vi}].")
        dims = _merge_list(data.get("dimensions", []), v.pop("dimensions", []), lambda x: x.get("id"))
        # an indicator patch may name an indicator of the base in another dimension: merge it in place
        drop = v.pop("drop", None)
        resolved = {"dimensions": dims}
        if drop is not None:
            resolved, ps = _apply_drop(resolved, drop, f"{shown}: variants[{vi}].drop")
            problems += ps
        v["dimensions"] = resolved["dimensions"]
        out.append(v)
    if problems:
        raise RubricError(problems)
    return {**data, "variants": out}


def read_rubric_data(spec: str | Path | None) -> tuple[dict, str]:
    """The rubric's TOML with every ``extends`` merged in and variants resolved, and the name to show."""
    path = resolve_rubric_path(spec)
    if path is None:
        raise RubricError([RubricProblem(RubricCode.NOT_FOUND, f"{spec}: 找不到评分标准文件（也不是内置评分标准的名称：{', '.join(builtin_names())}）")])
    shown = str(spec) if spec is not None and Path(str(spec)).is_file() else f"rubrics/{builtin_shown(path)}"
    data = _read_raw(path, shown, (path.resolve(),), (shown,))
    return _expand_variants(data, shown), shown


def load_rubric(spec: str | Path | None, registry=None) -> tuple[Rubric, str]:
    """Load, validate and cross-check a rubric. Returns (rubric, shown path)."""
    data, shown = read_rubric_data(spec)
    rubric = parse_rubric(data, shown)
    if registry is not None:
        problems = cross_check(rubric, registry)
        if problems:
            raise RubricError([located(shown, p) for p in problems])
        rubric = resolve_defaults(rubric, registry)
    return rubric, shown


def cross_check(r: Rubric, registry) -> list[str]:
    """Checks that need more than one key: measures exist, params and their values known, sums, orders,
    references, duplicate ids, full marks a rule can reach. Each message names the indicator (Chinese name
    and id) where there is one, and suggests the closest known value for a misspelt one."""
    out: list[str] = []
    from .checks import listed, suggest, who
    from .tables import CATEGORIES

    def check_measure(path: str, measure: str, params: dict, kind: str | None = None, owner: str = ""):
        m = registry.get(measure)
        if m is None:
            out.append(RubricProblem(RubricCode.UNKNOWN_MEASURE, f"{path}.measure: {owner}未知的测量项「{measure}」{suggest(measure, registry.measures)}"
                       "（用 scoring plugins 查看可用的测量项）"))
            return
        for k, v in params.items():
            if k not in m.params:
                out.append(RubricProblem(RubricCode.UNKNOWN_PARAMETER, f"{path}.params.{k}: {owner}测量项「{measure}」没有参数「{k}」{suggest(k, m.params)}"
                           f"（可用参数：{listed(m.params)}）"))
                continue
            choices = m.params[k].choices
            if choices is None:
                continue
            for x in (v if isinstance(v, list) else [v]):
                if x not in choices:
                    out.append(RubricProblem(RubricCode.UNKNOWN_VALUE, f"{path}.params.{k}: {owner}测量项「{measure}」的参数 {k} 没有取值「{x}」"
                               f"{suggest(x, choices)}（可用：{listed(choices)}）；写错的取值永远匹配不到任何记录"))
        if kind == "claims" and m.kind != "claims":
            out.append(RubricProblem(RubricCode.WRONG_MEASURE_KIND, f"{path}.measure: 「{measure}」不是申报记录类测量项，不能用于加分"))
        if kind != "claims" and m.kind == "claims":
            out.append(RubricProblem(RubricCode.WRONG_MEASURE_KIND, f"{path}.measure: {owner}「{measure}」是申报记录类测量项，只能用于加分块"))

    def check_categories(path: str, cats, owner: str = ""):
        for c in cats or []:
            if c not in CATEGORIES:
                out.append(RubricProblem(RubricCode.UNKNOWN_VALUE, f"{path}: {owner}未知的支部类别「{c}」{suggest(c, CATEGORIES)}（可用：{listed(CATEGORIES)}）"))

    all_indicators = {i.id: i for _, i in r.indicators()}  # a condition reads a base indicator

    def check_condition(path: str, c: VetoCondition, owner: str = ""):
        if c.measure:
            check_measure(path, c.measure, c.params, owner=owner)
        elif c.indicator not in all_indicators:
            out.append(RubricProblem(RubricCode.UNKNOWN_REFERENCE, f"{path}.indicator: {owner}未知的指标「{c.indicator}」{suggest(c.indicator, all_indicators)}"))

    def check_dimensions(dims: list[Dimension], prefix: str):
        ids: dict[str, tuple[str, str]] = {}  # id -> (key path, what it is)
        for di, d in enumerate(dims, 1):
            dpath = f"{prefix}dimensions[{di}]"
            if d.id in ids:
                out.append(RubricProblem(RubricCode.DUPLICATE_ID, f"{dpath}.id: 维度「{d.name}」的标识「{d.id}」与{ids[d.id][1]}（{ids[d.id][0]}）重复"))
            ids[d.id] = (dpath, f"维度「{d.name}」")
            total = sum(i.max for i in d.indicators)
            if d.max is not None and abs(total - d.max) > 1e-9:
                word = "超过" if total > d.max else "少于"
                out.append(RubricProblem(RubricCode.INCONSISTENT, f"{dpath}.max: 维度「{d.name}」（{d.id}）各指标满分合计 {total:g} 分，{word}维度满分 {d.max:g} 分"))
            for ii, ind in enumerate(d.indicators, 1):
                ipath = f"{dpath}.indicators[{ii}]"
                if ind.id in ids:
                    out.append(RubricProblem(RubricCode.DUPLICATE_ID, f"{ipath}.id: {who(ind)}的标识与{ids[ind.id][1]}（{ids[ind.id][0]}）重复，"
                               "每个指标的标识必须不同"))
                ids[ind.id] = (ipath, f"指标「{ind.name}」")
                check_indicator(ind, ipath)

    def check_indicator(ind: Indicator, ipath: str):
        owner = who(ind) + "："
        check_measure(ipath, ind.measure, ind.params, owner=owner)
        check_categories(f"{ipath}.categories", ind.categories, owner)
        for ei, ex in enumerate(ind.extra_deductions, 1):
            check_measure(f"{ipath}.extra_deductions[{ei}]", ex.measure, ex.params, owner=owner)
        m = registry.get(ind.measure)
        domain = m.domain if m is not None else (float("-inf"), float("inf"))
        for sub, msg in rules.of(ind.rule).check(ind.rule, ind.max, r.grading.model, domain=domain):
            out.append(RubricProblem(RubricCode.RULE, f"{ipath}.rule.{sub}: {owner}{msg}"))

    check_dimensions(r.dimensions, "")
    for vi, v in enumerate(r.variants, 1):
        check_categories(f"variants[{vi}].categories", v.categories, f"类别变体「{v.name}」（{v.id}）：")
        check_dimensions(v.dimensions, f"variants[{vi}].")
        for c in v.categories:
            others = [w.id for w in r.variants[: vi - 1] if c in w.categories]
            if others:
                out.append(RubricProblem(RubricCode.INCONSISTENT, f"variants[{vi}].categories: 类别「{c}」已在变体「{others[0]}」中"))
    seen_variants: dict[str, int] = {}
    for vi, v in enumerate(r.variants, 1):
        if v.id in seen_variants:
            out.append(RubricProblem(RubricCode.DUPLICATE_ID, f"variants[{vi}].id: 类别变体「{v.name}」的标识「{v.id}」与 variants[{seen_variants[v.id]}] 重复"))
        seen_variants.setdefault(v.id, vi)
    dim_ids = {d.id for d in r.dimensions}
    if r.grading.sections:
        seen: dict[str, str] = {}
        sec_ids: dict[str, int] = {}
        for si, sec in enumerate(r.grading.sections, 1):
            if sec.id in sec_ids:
                out.append(RubricProblem(RubricCode.DUPLICATE_ID, f"grading.sections[{si}].id: 部分「{sec.name}」的标识「{sec.id}」与 grading.sections[{sec_ids[sec.id]}] 重复"))
            sec_ids.setdefault(sec.id, si)
            for key in ("dimensions", "deduct_dimensions"):
                for dj, did in enumerate(getattr(sec, key), 1):
                    if did not in dim_ids:
                        out.append(RubricProblem(RubricCode.UNKNOWN_REFERENCE, f"grading.sections[{si}].{key}[{dj}]: 未知的维度「{did}」{suggest(did, dim_ids)}"))
                    elif did in seen:
                        out.append(RubricProblem(RubricCode.INCONSISTENT, f"grading.sections[{si}].{key}[{dj}]: 维度「{did}」已属于部分「{seen[did]}」"))
                    seen[did] = sec.id
        for did in sorted(dim_ids - set(seen)):
            out.append(RubricProblem(RubricCode.INCONSISTENT, f"grading.sections: 维度「{did}」不属于任何部分"))
    if r.grading.model == "per_dimension":
        for li, lv in enumerate(r.grading.levels, 1):
            if lv.min > len(r.dimensions):
                out.append(RubricProblem(RubricCode.INCONSISTENT, f"grading.levels[{li}].min: 需要 {lv.min:g} 颗星，但只有 {len(r.dimensions)} 个维度"))

    labels = [lv.label for lv in r.grading.levels]

    def unknown_level(lv: str) -> str:
        return f"未知的等级「{lv}」{suggest(lv, labels)}（可用：{listed(labels)}）"

    for li, (hi, lo) in enumerate(zip(r.grading.levels, r.grading.levels[1:]), 2):
        if lo.min >= hi.min:
            out.append(RubricProblem(RubricCode.INCONSISTENT, f"grading.levels[{li}].min: 门槛 {lo.min:g} 不低于上一等级「{hi.label}」的 {hi.min:g}，等级应从高到低排列"))
    for li, lv in enumerate(r.grading.levels, 1):
        if lv.min > r.grading.scale and r.grading.model not in ("points", "per_dimension"):
            out.append(RubricProblem(RubricCode.INCONSISTENT, f"grading.levels[{li}].min: 门槛 {lv.min:g} 超过满分 {r.grading.scale:g}"))
        for ci, c in enumerate(lv.requires, 1):
            check_condition(f"grading.levels[{li}].requires[{ci}]", c, f"等级「{lv.label}」的附加条件：")
        if lv.min_total is not None and r.grading.model != "per_dimension":
            out.append(RubricProblem(RubricCode.SCHEMA, f"grading.levels[{li}].min_total: 只用于按维度评星（per_dimension），其他模式请用 min"))
    for key, what, items in (("vetoes", "否决项", r.vetoes), ("warnings", "预警", r.warnings)):
        seen_ids: dict[str, int] = {}
        for vi, v in enumerate(items, 1):
            vpath = f"{key}[{vi}]"
            owner = f"{what}「{v.name}」（{v.id}）："
            if v.id in seen_ids:
                out.append(RubricProblem(RubricCode.DUPLICATE_ID, f"{vpath}.id: {what}「{v.name}」的标识「{v.id}」与 {key}[{seen_ids[v.id]}] 重复"))
            seen_ids.setdefault(v.id, vi)
            check_condition(f"{vpath}.when", v.when, owner)
            for lkey in ("cap_level", "award_level"):
                lv = getattr(v, lkey, None)
                if lv is not None and lv not in labels:
                    out.append(RubricProblem(RubricCode.UNKNOWN_VALUE, f"{vpath}.{lkey}: {owner}{unknown_level(lv)}"))
            check_categories(f"{vpath}.categories", v.categories, owner)
    if r.bonus is not None:
        claims_measure = r.bonus.measure
        if r.bonus.measure is None:
            claims = sorted(m.id for m in registry.measures.values() if m.kind == "claims")
            if len(claims) != 1:
                have = "、".join(claims) if claims else "无"
                out.append(RubricProblem(RubricCode.SCHEMA, f"bonus.measure: 请写明加分使用的申报记录类测量项（可用：{have}）"))
            claims_measure = claims[0] if len(claims) == 1 else None
        else:
            check_measure("bonus", r.bonus.measure, {}, kind="claims")
        m = registry.get(claims_measure) if claims_measure else None
        if m is not None and m.kind == "claims":
            for key, values, what in (("points", list(r.bonus.points), "级别"), ("kinds", r.bonus.kinds or [], "类型")):
                choices = m.choices.get("level" if key == "points" else "kind")
                for x in values if choices else []:
                    if x not in choices:
                        out.append(RubricProblem(RubricCode.UNKNOWN_VALUE, f"bonus.{key}: {r.bonus.name}：申报记录没有{what}「{x}」{suggest(x, choices)}"
                                   f"（可用：{listed(choices)}）；写错的{what}永远不会加分"))
    seen_q: dict[tuple[str, str], int] = {}
    for qi, q in enumerate(r.quotas, 1):
        if q.level not in labels:
            out.append(RubricProblem(RubricCode.UNKNOWN_VALUE, f"quotas[{qi}].level: 名额：{unknown_level(q.level)}"))
        elif r.level_index(q.level) == len(labels) - 1:
            out.append(RubricProblem(RubricCode.INCONSISTENT, f"quotas[{qi}].level: 最低等级「{q.level}」不能设名额（超出名额的支部无处可降）"))
        if (q.level, q.scope) in seen_q:
            out.append(RubricProblem(RubricCode.DUPLICATE_ID, f"quotas[{qi}]: 等级「{q.level}」在同一范围（{q.scope}）内的名额重复设置（另见 quotas[{seen_q[(q.level, q.scope)]}]）"))
        seen_q.setdefault((q.level, q.scope), qi)
    for ti, key in enumerate(r.ranking.tie_break, 1):
        if key in ("base_total", "bonus"):
            continue
        if key.startswith("dimension:") and key.split(":", 1)[1] in dim_ids:
            continue
        if key.startswith("dimension:"):
            hint = suggest(key.split(":", 1)[1], sorted(dim_ids)).replace("「", "「dimension:")
        else:
            hint = suggest(key, ["base_total", "bonus"])
        out.append(RubricProblem(RubricCode.UNKNOWN_REFERENCE, f"ranking.tie_break[{ti}]: 无法识别「{key}」{hint}（可用 base_total、bonus 或 dimension:<维度标识>）"))
    # a variant repeats the base dimensions: report a mistake in them once, at the base (the messages name
    # the indicator, so the same message at another position in a variant is the same mistake)
    base_lines = {x for x in out if not x.startswith("variants[")}
    base_msgs = {x.split(": ", 1)[-1] for x in base_lines}
    return [x for x in out if not (x.startswith("variants[") and "." in x
                                   and (x.split(".", 1)[1] in base_lines or x.split(": ", 1)[-1] in base_msgs))]


def resolve_defaults(r: Rubric, registry) -> Rubric:
    """The rubric with the defaults that depend on the plugins filled in: a bonus block without a
    ``measure`` uses the one claims measure the plugins provide (``cross_check`` has made sure there is
    exactly one)."""
    if r.bonus is not None and r.bonus.measure is None:
        claims = sorted(m.id for m in registry.measures.values() if m.kind == "claims")
        if len(claims) == 1:
            return r.model_copy(update={"bonus": r.bonus.model_copy(update={"measure": claims[0]})})
    return r


def dump_toml(r: Rubric) -> str:
    """The resolved rubric as TOML text (for the audit sheet and ``rubric show``)."""
    import tomli_w

    data = r.model_dump(mode="json", exclude_none=True)
    # a variant is shown with its complete dimensions; on loading they are merged over the base dimensions
    # again, so name what the variant removed from the base to make the text load back to the same rubric
    base_dims = {d.id for d in r.dimensions}
    base_inds = {i.id for _, i in r.indicators()}
    for v, vd in zip(r.variants, data.get("variants", [])):
        dims = {d.id for d in v.dimensions}
        inds = {i.id for d in v.dimensions for i in d.indicators}
        drop = {}
        if base_dims - dims:
            drop["dimensions"] = sorted(base_dims - dims)
        if base_inds - inds:
            drop["indicators"] = sorted(base_inds - inds)
        if drop:
            vd["drop"] = drop
    return tomli_w.dumps(data)
