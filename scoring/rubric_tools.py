"""``scoring rubric check|show|diff|schema``: what a county office needs to customize a rubric safely."""

from __future__ import annotations

import copy
import json
import re
import types
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel

from . import rules, wording
from .errors import RubricCode, RubricError, RubricProblem, located
from .rubric import Rubric

MODEL_ZH = {
    "stars": "总分定星（评星定级）",
    "grade": "总分定等次（分类定级）",
    "per_dimension": "按维度评星（每个维度达标得一颗星）",
    "points": "积分制（基准分加减分）",
}
SCOPE_ZH = wording.SCOPE_NAMES
QUOTA_SCOPE = {"county": "全县", "parent": "各乡镇", "category": "各类别"}  # a quota named "五星名额（各乡镇）"
_g = wording.const  # rubric numbers as short text: 12.0 -> "12", 0.15 -> "0.15"


def check_summary(r: Rubric, shown: str, registry) -> str:
    g = r.grading
    lines = [
        f"评分标准有效：{shown}",
        f"  {r.name}（标识 {r.id}，版本 {r.version}，考核年度 {r.year}）",
        f"  评定方式：{MODEL_ZH[g.model]}" + (f"，满分 {_g(g.scale)}" if g.model != "points" else f"，基准分 {_g(g.base)}"),
    ]
    if r.scheme:
        lines.append(f"  依据：{r.scheme}")
    if g.sections:
        lines.append("  加权：" + " + ".join(f"{s.name}×{_g(s.weight * 100)}%" for s in g.sections))
    lines.append(f"  维度 {len(r.dimensions)} 个，指标 {len(r.indicators())} 项：")
    for d in r.dimensions:
        lines.append(f"    {d.name}（{d.id}）{_g(d.total_max)}分：" + "、".join(f"{i.name}{_g(i.max)}" for _, i in [(d, i) for i in d.indicators]))
    measures = sorted({i.measure for _, i in r.all_indicators()})
    plugins = sorted({registry.measures[m].plugin for m in measures})
    lines.append(f"  使用测量项 {len(measures)} 个（插件：{'、'.join(plugins)}）")
    if r.bonus:
        lv = "、".join(f"{k}{_g(v)}分" for k, v in r.bonus.points.items())
        lines.append(f"  加分：{r.bonus.name}，{lv}，上限 {_g(r.bonus.cap)} 分")
    lines.append("  等级：" + "、".join(
        f"{lv.label}≥{_g(lv.min)}" + ("颗星" if g.model == "per_dimension" else "") + ("（另有条件）" if lv.requires or lv.min_total else "")
        for lv in g.levels))
    if r.vetoes:
        lines.append("  否决与预警：" + "、".join(f"{v.name}（{wording.effect_name(v.effect, g.rates_stars)}）" for v in r.vetoes))
    if r.warnings:
        lines.append("  预警：" + "、".join(w.name for w in r.warnings))
    if r.quotas:
        lines.append("  名额：" + "、".join(f"{q.level}不超过{_g(q.max_share * 100)}%（{SCOPE_ZH[q.scope]}）" for q in r.quotas))
    if r.rectification:
        lines.append(f"  整顿：{SCOPE_ZH[r.rectification.scope]}排名后{_g(r.rectification.bottom_share * 100)}%列为{r.rectification.flag}")
    for v in r.variants:
        lines.append(f"  类别变体「{v.name}」（{'、'.join(v.categories)}）：{sum(d.total_max for d in v.dimensions):g}分，"
                     f"{sum(len(d.indicators) for d in v.dimensions)}项指标")
    if r.plugins:
        lines.append(f"  本地插件：{'、'.join(r.plugins)}")
    return "\n".join(lines)


# ---------------------------------------------------------------- diff
def _flatten_dims(dims: list[dict], walk) -> None:
    for dim in dims:
        for key in ("name", "max", "star_share", "star_name"):
            if key in dim:
                walk(f"dimension[{dim['id']}].{key}", dim[key])
        for ind in dim["indicators"]:
            walk(f"indicator[{ind['id']}]", {**{k: v for k, v in ind.items() if k != "id"}, "dimension": dim["id"]})


def _flatten(r: Rubric) -> dict[str, Any]:
    """Key paths by identity (not position), so that a moved entry is not a change. A category variant is
    flattened as its difference from the base dimensions of the same rubric, so that a change made to the
    base (which every variant inherits) shows once."""
    d = r.model_dump(mode="json", exclude_none=True)
    out: dict[str, Any] = {}

    def walker(target: dict):
        def walk(prefix: str, x):
            if isinstance(x, dict):
                for k, v in x.items():
                    walk(f"{prefix}.{k}" if prefix else k, v)
            elif isinstance(x, (list, dict)) and not x:
                return  # an empty list or table says nothing a diff should report
            elif isinstance(x, list) and all(isinstance(e, dict) for e in x):
                for e in x:
                    ident = e.get("id") or e.get("label") or (f"{e.get('level')}@{e.get('scope')}" if "level" in e else None)
                    if ident is None:
                        target[prefix] = x
                        return
                    walk(f"{prefix}[{ident}]", {k: v for k, v in e.items() if k not in ("id", "label")})
            else:
                target[prefix] = x
        return walk

    walk = walker(out)
    base: dict[str, Any] = {}
    _flatten_dims(d.pop("dimensions"), walker(base))
    out.update(base)
    for v in d.pop("variants", []):
        vid = v["id"]
        for key in ("name", "categories"):
            out[f"variants[{vid}].{key}"] = v[key]
        mine: dict[str, Any] = {}
        _flatten_dims(v["dimensions"], walker(mine))
        gone = {k.split("]", 1)[0] + "]" for k in set(base) - set(mine)}  # "indicator[x]" / "dimension[x]"
        for entry in sorted(gone):
            out[f"variants[{vid}].drop.{entry}"] = True
        for k in set(mine) | set(base):
            if k.split("]", 1)[0] + "]" not in gone and mine.get(k) != base.get(k):
                out[f"variants[{vid}].{k}"] = mine.get(k)
    for key in ("id", "name", "version", "year", "scheme", "plugins"):
        d.pop(key, None)
    walk("", d)
    return out


_SECTION = (
    ("indicator[", "指标"), ("dimension[", "维度"), ("grading.levels[", "等级门槛"), ("grading", "评定方式"),
    ("quotas[", "名额"), ("bonus", "加分"), ("vetoes[", "否决项"), ("warnings[", "预警"), ("variants[", "类别变体"),
    ("rectification", "整顿"), ("ranking", "排名"),
)


def _section(key: str) -> str:
    for prefix, name in _SECTION:
        if key.startswith(prefix):
            return name
    return "其他"


def _show(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return _g(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _names(*rubrics: Rubric) -> dict[tuple[str, str, str], str]:
    """(variant id or "" for the base, kind, id) -> Chinese name, for the entries a diff names: indicators
    and dimensions (of the base and of every variant: a variant may rename them), vetoes, warnings,
    variants. A later rubric's name wins (the new name of a renamed entry)."""
    out: dict[tuple[str, str, str], str] = {}
    for r in rubrics:
        for scope, dims in [("", r.dimensions)] + [(v.id, v.dimensions) for v in r.variants]:
            for d in dims:
                out[(scope, "dimension", d.id)] = d.name
                for i in d.indicators:
                    out[(scope, "indicator", i.id)] = i.name
        out.update({("", "vetoes", v.id): v.name for v in r.vetoes})
        out.update({("", "warnings", w.id): w.name for w in r.warnings})
        out.update({("", "variants", v.id): v.name for v in r.variants})
    return out


_ENTITY = re.compile(r"^(indicator|dimension|vetoes|warnings|quotas|grading\.levels)\[([^\]]+)\](?:\.(.*))?$")


def _entity_label(kind: str, ident: str, names: dict, scope: str = "") -> str:
    if kind == "quotas":
        level, _, scope = ident.partition("@")
        return f"{level}名额（{QUOTA_SCOPE.get(scope, scope)}）"
    if kind == "grading.levels":
        return f"等级「{ident}」"  # a level is named by its label (五星, 好)
    name = names.get((scope, kind, ident)) or names.get(("", kind, ident))
    return f"{name}（{ident}）" if name and name != ident else ident


def _label(key: str, names: dict, scope: str = "") -> tuple[str, str]:
    """A flattened key as (what it belongs to, in Chinese with its id; the rest of the key path):
    "indicator[party_lectures].rule.target" -> ("党课（party_lectures）", "rule.target"). A key of no
    named entry ("grading.star_share") is its own label with no rest."""
    if key.startswith("variants["):
        vid, _, rest = key[len("variants["):].partition("]")
        rest = rest.removeprefix(".")
        head = _variant_label(vid, names)
        if rest.startswith("drop."):
            inner, _ = _label(rest[len("drop."):], names, vid)
            return head, f"删除{inner}"
        if not rest:
            return head, ""
        inner, sub = _label(rest, names, vid)
        return f"{head}{inner}", sub
    m = _ENTITY.match(key)
    if m is None:
        return key, ""
    return _entity_label(m.group(1), m.group(2), names, scope), m.group(3) or ""


def _variant_label(vid: str, names: dict) -> str:
    vname = names.get(("", "variants", vid))
    return f"类别变体「{vname}」（{vid}）" if vname else f"类别变体（{vid}）"


def _joined(label: str, rest: str) -> str:
    if not rest:
        return label
    return f"{label}{rest}" if label.endswith(("）", "」")) else f"{label} {rest}"


def diff_entries(a: Rubric, b: Rubric, registry) -> list[tuple[str, str]]:
    """What changed from ``a`` to ``b``: (section, Chinese line) in the order :func:`diff` prints them;
    indicators and other named entries by Chinese name and id. ``registry`` provides the measures of
    ``b`` (for describing an added indicator's rule with its unit)."""
    fa, fb = _flatten(a), _flatten(b)
    names = _names(a, b)
    ind_a = {i.id: i for _, i in a.indicators()}
    ind_b = {i.id: i for _, i in b.indicators()}
    out: list[tuple[str, str]] = []
    added = [i for i in ind_b if i not in ind_a]
    removed = [i for i in ind_a if i not in ind_b]
    for iid in added:
        i = ind_b[iid]
        out.append(("", f"新增指标：{i.name}（{iid}），{_g(i.max)}分，测量项 {i.measure}，{rules.describe(i, registry)}"))
    for iid in removed:
        i = ind_a[iid]
        out.append(("", f"删除指标：{i.name}（{iid}），原{_g(i.max)}分"))
    groups: dict[str, list[str]] = {}
    var_a, var_b = {v.id: v for v in a.variants}, {v.id: v for v in b.variants}
    for vid, v, word in [(x, var_b[x], "新增") for x in var_b if x not in var_a] + \
                        [(x, var_a[x], "删除") for x in var_a if x not in var_b]:
        n_ind = sum(len(d.indicators) for d in v.dimensions)
        groups.setdefault("类别变体", []).append(
            f"{word} {_variant_label(vid, names)}（{'原' if word == '删除' else ''}适用于{'、'.join(v.categories)}，"
            f"{_g(sum(d.total_max for d in v.dimensions))}分，{n_ind}项指标）")
    skip = tuple(f"indicator[{i}]" for i in added + removed) + tuple(
        f"variants[{v}]" for v in set(var_a) ^ set(var_b))
    keys = [k for k in sorted(set(fa) | set(fb)) if not k.startswith(skip) and fa.get(k) != fb.get(k)]

    def entity(key: str) -> str | None:
        return key.rsplit("].", 1)[0] + "]" if "]." in key else None

    # an entry (a level, a veto, a quota ...) added or removed as a whole is one line, not one per key;
    # a variant's keys are already differences from its base, so they are listed one by one
    by_entity: dict[str, list[str]] = {}
    for k in keys:
        e = entity(k) if not k.startswith("variants[") else None
        if e is not None:
            by_entity.setdefault(e, []).append(k)
    whole: set[str] = set()
    for e, ks in by_entity.items():
        in_a = [k for k in fa if k.startswith(e + ".")]
        in_b = [k for k in fb if k.startswith(e + ".")]
        if not in_a or not in_b:
            src = fb if not in_a else fa
            body = "，".join(f"{k[len(e) + 1:]} = {_show(src[k])}" for k in (in_b or in_a)
                            if src[k] not in ([], {}, "") and k != e + ".name")  # the label says the name
            label, _ = _label(e, names)
            groups.setdefault(_section(e), []).append(("新增 " if not in_a else "删除 ") + f"{label}（{body}）")
            whole |= set(ks)
    for key in keys:
        if key in whole:
            continue
        va, vb = fa.get(key, None), fb.get(key, None)
        label, rest = _label(key, names)
        if rest.startswith("删除") and vb is True:  # a variant drops an inherited entry
            text = f"{label}{rest}"
        elif rest.startswith("删除") and va is True:
            text = f"{label}不再{rest}"
        elif va is None:
            text = f"新增 {_joined(label, rest)} = {_show(vb)}"
        elif vb is None:
            text = f"删除 {_joined(label, rest)}（原为 {_show(va)}）"
        else:
            text = f"{_joined(label, rest)}：{_show(va)} → {_show(vb)}"
        groups.setdefault(_section(key), []).append(text)
    order = [name for _, name in _SECTION] + ["其他"]
    for name in sorted(groups, key=order.index):
        out += [(name, t) for t in groups[name]]
    return out


def diff_text(a: Rubric, b: Rubric, shown_a: str, shown_b: str, entries: list[tuple[str, str]]) -> str:
    lines = [f"评分标准对比：{shown_a}（{a.name}，版本 {a.version}） → {shown_b}（{b.name}，版本 {b.version}）"]
    section = None
    for name, text in entries:
        if not name:
            lines.append(f"  {text}")
            continue
        if name != section:
            lines.append(f"  {name}：")
            section = name
        lines.append(f"    {text}")
    if not entries:
        lines.append("  两个评分标准的内容相同")
    return "\n".join(lines)


def diff(a: Rubric, b: Rubric, shown_a: str, shown_b: str, registry) -> tuple[str, int]:
    """What changed from ``a`` to ``b``, in Chinese, grouped; and the number of changes. ``registry``
    provides the measures of ``b`` (for describing an added indicator's rule with its unit)."""
    entries = diff_entries(a, b, registry)
    return diff_text(a, b, shown_a, shown_b, entries), len(entries)


# ---------------------------------------------------------------- fragments
FRAGMENT_NOTE = "这是供 extends 继承的片段"


def is_fragment(data: dict) -> bool:
    """A rubric file that (with everything it extends merged in) has no ``id``, like rubrics/_bonus.toml:
    it is meant to be extended, never to score on its own."""
    return isinstance(data, dict) and "id" not in data


class FragmentError(RubricError):
    """Real mistakes in a fragment (unknown keys, wrong types, values out of range, unknown measures)."""

    def render(self) -> str:
        n = len(self.messages)
        head = f"{FRAGMENT_NOTE}，其中有 {n} 处错误：" if n > 1 else f"{FRAGMENT_NOTE}，其中有错误："
        return "\n".join([head] + [f"  {m}" for m in self.messages])


def _model_of(annotation):
    """(the pydantic model a field holds, whether it is a list of them) or (None, False)."""
    from typing import Union, get_args, get_origin

    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [x for x in get_args(annotation) if x is not type(None)]
        return _model_of(args[0]) if len(args) == 1 else (None, False)
    if origin is list:
        (inner,) = get_args(annotation) or (None,)
        model, _ = _model_of(inner)
        return model, model is not None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _partial_errors(model, data, loc: tuple) -> list[tuple[tuple, dict]]:
    """Every real mistake in ``data``, a partial table for ``model``: an unknown key, a value of the wrong
    type or out of range, a field validator's complaint. Missing keys are not mistakes (the rubric that
    extends the fragment supplies them), and a table merged key by key is checked key by key; what
    ``extends`` replaces as a whole (a rule, a veto's condition, the level ladder ...) must be complete."""
    from pydantic import TypeAdapter, ValidationError

    from .rubric import REPLACED

    if not isinstance(data, dict):
        return [(loc, {"type": "dict_type", "msg": "", "loc": ()})]
    out: list[tuple[tuple, dict]] = []
    validators = model.__pydantic_decorators__.field_validators.values()
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            out.append((loc + (key,), {"type": "extra_forbidden", "msg": "", "loc": ()}))
            continue
        sub, many = _model_of(field.annotation)
        if sub is not None and key not in REPLACED:
            if many:
                if not isinstance(value, list):
                    out.append((loc + (key,), {"type": "list_type", "msg": "", "loc": ()}))
                    continue
                for i, item in enumerate(value):
                    out += _partial_errors(sub, item, loc + (key, i))
            else:
                out += _partial_errors(sub, value, loc + (key,))
            continue
        try:
            checked = TypeAdapter(Annotated[field.annotation, field]).validate_python(value)
        except ValidationError as e:
            out += [(loc + (key,), err) for err in e.errors()]
            continue
        for v in validators:
            if key in v.info.fields:
                try:
                    v.func(checked)
                except ValueError as e:
                    out.append((loc + (key,), {"type": "value_error", "msg": str(e), "loc": ()}))
    return out


def _measure_errors(data, path: str, registry) -> list[str]:
    """Measures (and their parameters) named anywhere in a fragment that no plugin provides."""
    out: list[str] = []
    if isinstance(data, dict):
        m = data.get("measure")
        if isinstance(m, str):
            measure = registry.get(m)
            if measure is None:
                out.append(RubricProblem(RubricCode.UNKNOWN_MEASURE, f"{path}.measure: 未知的测量项「{m}」（用 scoring plugins 查看可用的测量项）"))
            elif isinstance(data.get("params"), dict):
                for k in data["params"]:
                    if k not in measure.params:
                        known = "、".join(measure.params) or "无"
                        out.append(RubricProblem(RubricCode.UNKNOWN_PARAMETER, f"{path}.params.{k}: 测量项「{m}」没有参数「{k}」（可用参数：{known}）"))
        for k, v in data.items():
            if k != "params":
                out += _measure_errors(v, f"{path}.{k}" if path else k, registry)
    elif isinstance(data, list):
        for i, v in enumerate(data, 1):
            out += _measure_errors(v, f"{path}[{i}]", registry)
    return out


def check_fragment(data: dict, shown: str, registry) -> str:
    """Validate a fragment (:func:`is_fragment`) for what it has; the summary to print, or a
    :class:`FragmentError` listing every real mistake with its key path."""
    from .rubric import _dedupe_variant_errors, _key_path, _zh_message

    body = {k: v for k, v in data.items() if k not in ("plugins",)}
    errors = [(_key_path(loc + tuple(err.get("loc", ()))), _zh_message(err))
              for loc, err in _partial_errors(Rubric, body, ())]
    problems = [RubricProblem(RubricCode.SCHEMA, f"{shown}: {p}: {m}") for p, m in _dedupe_variant_errors(errors)]
    problems += [located(shown, p) for p in dict.fromkeys(_measure_errors(body, "", registry))
                 if not p.startswith("variants[")]
    if problems:
        raise FragmentError(problems)
    has = []
    for key, value in data.items():
        what = KEY_HELP.get(key, key).split("（")[0].split("：")[0]
        if key == "dimensions" and isinstance(value, list):
            n = sum(len(d.get("indicators", [])) for d in value if isinstance(d, dict))
            has.append(f"{key}（{what}，{len(value)} 个维度，{n} 项指标）")
        elif isinstance(value, list):
            has.append(f"{key}（{what}，{len(value)} 项）")
        elif isinstance(value, dict) and isinstance(value.get("name"), str):
            has.append(f"{key}（{what}：{value['name']}）")
        else:
            has.append(f"{key}（{what}）")
    name = Path(shown).name
    return "\n".join([
        f"{FRAGMENT_NOTE}：{shown}",
        f"  没有 id，不能单独用于评分；在评分标准中写 extends = \"{name}\"（或 extends = [\"five_star\", \"{name}\"]）继承它",
        f"  含有：{'、'.join(has) if has else '（空）'}",
        "  其中写了的键和取值都正确；缺少的键由继承它的评分标准提供，合并后的完整检查请对那个评分标准运行 scoring rubric check",
    ])


# ---------------------------------------------------------------- schema
# Chinese hover help for editors, by key name (the same key means the same thing wherever it appears)
KEY_HELP = {
    "id": "标识：英文字母、数字和下划线，用于继承、对比和结果中引用", "name": "名称（显示给用户的中文名称）",
    "version": "版本号", "year": "考核年度", "scheme": "依据的考核办法（说明文字）",
    "extends": "继承的评分标准：内置名称（如 five_star）或相对本文件的路径；只需写与它不同的部分",
    "drop": "删除继承来的条目：dimensions、indicators、vetoes、warnings、quotas、variants",
    "plugins": "本县插件文件（相对本文件的路径）", "grading": "评定方式", "dimensions": "维度（如五好）",
    "indicators": "指标", "max": "满分", "measure": "测量项标识（scoring plugins 可查看全部测量项）",
    "params": "测量项参数", "rule": "计分规则", "type": "规则类型：deduct_shortfall、steps、linear、ratio、pass_fail、"
    "per_event、per_unit、manual", "target": "要求达到的数值", "per": "每单位扣（加）的分数",
    "steps": "分档：从高到低排列，每档写 ge/gt/le/lt 之一和 points", "ge": "不低于", "gt": "高于", "le": "不高于",
    "lt": "低于", "points": "分值", "otherwise": "都不满足时的得分", "zero_at": "得0分的数值", "full_at": "得满分的数值",
    "op": "比较方式：<、<=、>、>=、==、!=", "value": "比较的数值（比例写小数，如 0.95 表示95%）",
    "cap": "上限", "categories": "只适用于这些支部类别", "explain": "自定义得分说明模板，可用 {evidence} {value} {points} 等",
    "note": "备注", "extra_deductions": "在本指标分数内另行扣分的事项", "label": "名称或显示文字", "unit": "单位",
    "star_share": "按维度评星：维度得分达到满分的比例即得星", "star_name": "该维度的星名，如 支部过硬星",
    "bonus": "加分项", "kinds": "只计这些类型", "require_document": "无文号不计分", "require_approved": "未经审核不计分",
    "highest_only": "同一项工作只计最高级别", "vetoes": "否决项", "warnings": "预警（不影响得分和等级）",
    "when": "触发条件", "indicator": "按某个指标的测量值判断", "if_missing": "没有数据时是否视为触发",
    "effect": "效果：no_rating 取消评星、cap 等级封顶、deduct 扣分、flag 标记、award 直接定级",
    "cap_level": "最高只能评到的等级", "award_level": "直接评定的等级", "flag": "标记名称，如 软弱涣散候选",
    "levels": "等级（从高到低）", "min": "分数线（按维度评星时为星数）", "min_total": "按维度评星时对总分的要求",
    "stars": "星数", "requires": "该等级的附加条件", "requires_text": "附加条件的中文说明",
    "model": "评定方式：stars 总分定星、grade 总分定等次、per_dimension 按维度评星、points 积分制",
    "scale": "满分（总分折算到这个分数）", "base": "积分制的基准分",
    "not_applicable": "不适用的指标：rescale 不计入满分并折算、full_marks 按满分计",
    "sections": "加权部分，如 (基础项-减分项)×70%+评议项×30%", "deduct_dimensions": "从本部分扣除失分的维度",
    "weight": "权重（各部分之和为1）", "unrated_label": "不评定等级时显示的文字", "quotas": "名额限制",
    "level": "等级名称", "max_share": "最多占比（如 0.1 表示10%）", "scope": "范围：county 全县、parent 乡镇、category 类别",
    "rounding": "名额取整：floor 向下、round 四舍五入、ceil 向上", "rectification": "整顿候选",
    "bottom_share": "排名靠后的比例", "ranking": "排名", "tie_break": "总分相同时依次比较：base_total、bonus、dimension:<维度标识>",
    "variants": "不同类别支部的变体",
}


def _describe(node) -> None:
    if isinstance(node, dict):
        for key, sub in (node.get("properties") or {}).items():
            if key in KEY_HELP and isinstance(sub, dict):
                sub["description"] = KEY_HELP[key]
        for v in node.values():
            _describe(v)
    elif isinstance(node, list):
        for v in node:
            _describe(v)


def json_schema() -> dict:
    """JSON Schema for rubric files as authors write them: a complete rubric, or a partial one that
    ``extends`` another or is extended (then nothing is required and entries may be partial overrides)."""
    full = Rubric.model_json_schema(ref_template="#/$defs/{model}")
    defs = full.pop("$defs", {})
    full.pop("title", None)

    def relaxed(node):
        node = copy.deepcopy(node)

        def strip(x):
            if isinstance(x, dict):
                x.pop("required", None)
                if "$ref" in x and x["$ref"].startswith("#/$defs/"):
                    x["$ref"] = x["$ref"] + "Patch"
                for v in x.values():
                    strip(v)
            elif isinstance(x, list):
                for v in x:
                    strip(v)
        strip(node)
        return node

    all_defs = dict(defs)
    for name, d in defs.items():
        all_defs[name + "Patch"] = relaxed(d)
    # raw variants hold dimension patches and a drop table; they are resolved into full dimensions on load
    drop = {
        "type": "object", "additionalProperties": False, "title": "删除继承来的条目",
        "properties": {k: {"type": "array", "items": {"type": "string"}}
                       for k in ("dimensions", "indicators", "vetoes", "warnings", "quotas", "variants")},
    }
    all_defs["Drop"] = drop
    for name in ("Variant", "VariantPatch"):
        if name in all_defs:
            v = all_defs[name]
            v["properties"]["dimensions"] = {"type": "array", "items": {"$ref": "#/$defs/DimensionPatch"}}
            v["properties"]["drop"] = {"$ref": "#/$defs/Drop"}
            if "required" in v:
                v["required"] = [k for k in v["required"] if k != "dimensions"]
    extends = {"title": "继承的评分标准", "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    rubric_patch = relaxed(full)
    for sch in (full, rubric_patch):
        sch["properties"]["extends"] = extends
        sch["properties"]["drop"] = {"$ref": "#/$defs/Drop"}
    all_defs["RubricFile"] = full
    all_defs["RubricFilePatch"] = rubric_patch
    _describe(all_defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "党支部年度考核评分标准（TOML）",
        "type": "object",
        # a file that extends another, or a fragment without an id (like rubrics/_bonus.toml) that others
        # extend, may be partial; a complete rubric must have every required key
        "if": {"anyOf": [{"required": ["extends"]}, {"not": {"required": ["id"]}}]},
        "then": {"$ref": "#/$defs/RubricFilePatch"},
        "else": {"$ref": "#/$defs/RubricFile"},
        "$defs": all_defs,
    }
