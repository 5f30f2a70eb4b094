"""``steps``: a step table, the first step whose bound holds giving its points, else ``otherwise``.

群众满意率 >= 95% 12 points, >= 90% 10, ... Steps with ge/gt run from high to low, steps with le/lt from
low to high; one table never mixes the two.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import wording as w
from .base import ANY, Ladder, RuleType, Scored, Unit, reachable, value_if_needed, whole_target

OPS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}


class Step(BaseModel):
    """One row of a step table: exactly one of ge/gt/le/lt, and the points awarded when it holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    points: float = Field(ge=0)

    @model_validator(mode="after")
    def _one_bound(self):
        n = sum(v is not None for v in (self.ge, self.gt, self.le, self.lt))
        if n != 1:
            raise ValueError("每一档必须且只能写 ge、gt、le、lt 中的一个")
        return self

    @property
    def op_value(self) -> tuple[str, float]:
        for op, v in ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt)):
            if v is not None:
                return op, v
        raise AssertionError


class Steps(BaseModel):
    """Step table: the first step whose bound holds gives the points, else ``otherwise``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["steps"]
    steps: list[Step] = Field(min_length=1)
    otherwise: float = Field(default=0, ge=0)


class StepsRule(RuleType):
    type = "steps"
    Model = Steps
    codes = {"steps.hit": ("op", "threshold", "step"), "steps.none": ("op", "threshold")}

    def _hit(self, rule, v):
        v = np.asarray(v, dtype=float)
        step = np.full(len(v), -1)
        for i in range(len(rule.steps) - 1, -1, -1):  # the first step that holds wins
            op, thr = rule.steps[i].op_value
            with np.errstate(invalid="ignore"):
                step = np.where(OPS[op](v, thr), i, step)
        return step

    def points(self, rule, v, mx):
        step = self._hit(rule, v)
        pts = np.array([st.points for st in rule.steps] + [rule.otherwise], dtype=float)
        out = pts[np.where(step >= 0, step, len(rule.steps))]
        return np.where(np.isnan(np.asarray(v, dtype=float)), np.nan, out)

    def score(self, rule, v, mx):
        v = np.asarray(v, dtype=float)
        step = self._hit(rule, v)
        has = ~np.isnan(v)
        ops = np.array([st.op_value[0] for st in rule.steps] + [rule.steps[-1].op_value[0]], dtype=object)
        thr = np.array([st.op_value[1] for st in rule.steps] + [rule.steps[-1].op_value[1]], dtype=float)
        at = np.where(step >= 0, step, len(rule.steps))
        reason = np.where(has, np.where(step >= 0, "steps.hit", "steps.none"), "").astype(object)
        return Scored(self.points(rule, v, mx), reason,
                      {"op": ops[at], "threshold": thr[at], "step": np.where(step >= 0, step + 1.0, np.nan)})

    def sentence(self, rule, rows, mx, unit: Unit):
        restated = value_if_needed(self, rule, rows, mx, unit)  # 94.96% reads 95% but is below the 95% step
        out = w.pick(rows["reason"] == "steps.none",
                     f"，未达到最低档（{unit.requirement(*rule.steps[-1].op_value)}），得{w.const(rule.otherwise)}分", "")
        for i, st in enumerate(rule.steps, 1):
            tail = "" if st.points >= mx else f"（满分{w.const(mx)}分）"
            text = f"，{unit.requirement(*st.op_value)}，得{w.const(st.points)}分{tail}"
            out = w.pick((rows["reason"] == "steps.hit") & (rows["step"] == i), text, out)
        return restated + out

    def describe(self, rule, mx, unit: Unit, label: str):
        parts = [f"{unit.requirement(*st.op_value)}得{w.const(st.points)}分" for st in rule.steps]
        return f"{label}" + "，".join(parts) + f"，其余得{w.const(rule.otherwise)}分"

    def ladder(self, rule, mx, v, rule_points, unit: Unit):
        better = [i for i, st in enumerate(rule.steps) if st.points > rule_points + 1e-6]
        if not better:
            return None
        shown: dict[float, str] = {}
        for i in reversed(better):  # the next step up first, the top step last
            target, text = whole_target(*rule.steps[i].op_value, unit)
            shown.setdefault(target, text)
        values = list(shown)
        return Ladder(values[0], values, shown)

    def top(self, rule, mx):
        return float(mx)

    def best(self, rule, mx):
        return float(max([st.points for st in rule.steps] + [rule.otherwise]))

    def target(self, rule):
        return float(rule.steps[0].op_value[1])

    def check(self, rule, mx, model: str = "stars", domain=ANY):
        out = []
        best = max([st.points for st in rule.steps] + [rule.otherwise])
        if best < mx - 1e-9:
            out.append(("steps", f"档次表最高一档只得 {w.const(best)} 分，低于指标满分 {w.const(mx)} 分："
                                 f"每个支部都至少失 {w.const(mx - best)} 分且无法挽回（请把最高一档改为 {w.const(mx)} 分，或降低指标满分）"))
        else:
            reach = [st.points for st in rule.steps if reachable(*st.op_value, domain)] + [rule.otherwise]
            if max(reach) < mx - 1e-9:
                top = next(st for st in rule.steps if st.points >= mx - 1e-9)
                op, thr = top.op_value
                name = {">=": "ge", ">": "gt", "<=": "le", "<": "lt"}[op]
                from .base import domain_text
                out.append(("steps", f"得满分的一档（{name} = {w.const(thr)}）超出测量值可能的范围（{domain_text(domain)}），"
                                     f"最多只能得 {w.const(max(reach))} 分，没有支部能得满分"))
        for si, st in enumerate(rule.steps, 1):
            if st.points > mx:
                out.append((f"steps[{si}].points", f"{st.points:g} 分超过指标满分 {mx:g} 分"))
        ops = {st.op_value[0] for st in rule.steps}
        if ops <= {">=", ">"} or ops <= {"<=", "<"}:
            vals = [st.op_value[1] for st in rule.steps]
            desc = ops <= {">=", ">"}
            if any((b > a) if desc else (b < a) for a, b in zip(vals, vals[1:])):
                order = "从高到低" if desc else "从低到高"
                out.append(("steps", f"门槛顺序错误，应{order}排列：{vals}"))
            pts = [st.points for st in rule.steps]
            if any(b > a for a, b in zip(pts, pts[1:])):
                out.append(("steps", f"分值应逐档递减：{pts}"))
        else:
            out.append(("steps", "同一个档次表不能混用 ge/gt 与 le/lt"))
        if rule.otherwise > mx:
            out.append(("otherwise", f"超过指标满分 {mx:g} 分"))
        return out


Model = Steps
RULE = StepsRule()
