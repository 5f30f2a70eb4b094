"""The rule types of a rubric, one module each (definition, arithmetic, reason, words, next steps).

``RULES`` maps a rule's ``type`` to its :class:`~scoring.rules.base.RuleType`; :func:`of` gives the rule
type of a rule model. Nothing else in the engine switches on rule types: the evaluator scores with
``of(rule).score``, the wording module words reasons with ``of(rule).sentence``, the template describes
with :func:`describe`, the self-check steps with ``of(rule).ladder``.

Reason fields: the indicator results table carries, for every row, the reason code and the fields of
:data:`FIELD_COLUMNS` (NaN or "" where the code has none); :func:`reason_fields` picks those a code uses.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import deduct_shortfall, extra_deduction, linear, manual, pass_fail, per_event, per_unit, ratio, steps
from .base import KIND_COMMITTEE, KIND_FINAL, KIND_FIX, Ladder, RuleType, Scored, Unit

_MODULES = (deduct_shortfall, steps, linear, ratio, pass_fail, per_event, per_unit, manual)
RULES: dict[str, RuleType] = {m.RULE.type: m.RULE for m in _MODULES}
MODELS = tuple(m.Model for m in _MODULES)
RULE_TYPES = tuple(RULES)
ExtraDeduction = extra_deduction.Model
Step = steps.Step

# reason codes of the evaluator itself (not of one rule type)
GENERIC_CODES = {
    "no_data": (),  # the measure found no record for the branch: 0 points
    "na": (),  # the measure says the indicator does not apply (no 流动党员, no 整改 task)
    "na.category": ("categories",),  # the indicator applies to other branch categories only
}
CODES: dict[str, tuple[str, ...]] = dict(GENERIC_CODES)
for _rt in RULES.values():
    CODES.update(_rt.codes)
# the field columns of the indicator table (besides value, target, points, max)
FIELD_COLUMNS = ("shortfall", "per", "deducted", "raw", "cap", "threshold", "op", "step", "zero_at", "full_at")
TEXT_FIELDS = frozenset({"op"})


def of(rule) -> RuleType:
    return RULES[rule.type]


def reason_fields(code: str) -> tuple[str, ...]:
    """The fields a reason code uses (its sentence's numbers), besides the value, points and max."""
    return CODES.get(code, ())


def measure_label(name: str, params: Mapping) -> str:
    """The measure's name with the Chinese parameter values that narrow it: 会议次数（支委会）."""
    shown: list[str] = []
    for v in params.values():
        for x in (v if isinstance(v, list) else [v]):
            if isinstance(x, str) and not x.isascii():
                shown.append(x)
    return name + (f"（{'、'.join(shown)}）" if shown else "")


def unit_of(measure) -> Unit:
    return Unit.of(measure.unit, measure.is_rate, measure.kind)


def describe(ind, registry) -> str:
    """A short Chinese description of an indicator's scoring rule, e.g. "要求12次，每少1次扣0.5分，扣完为止";
    with its extra deductions and the categories it applies to."""
    m = registry.measures[ind.measure]
    text = of(ind.rule).describe(ind.rule, ind.max, unit_of(m), measure_label(m.name, ind.params))
    for ex in ind.extra_deductions:
        text += extra_deduction.describe(ex)
    if ind.categories:
        text += f"（仅适用于{'、'.join(ind.categories)}支部）"
    return text


__all__ = ["RULES", "MODELS", "RULE_TYPES", "CODES", "FIELD_COLUMNS", "of", "describe", "reason_fields", "Unit",
           "Ladder", "Scored", "RuleType", "KIND_FIX", "KIND_COMMITTEE", "KIND_FINAL", "ExtraDeduction", "Step",
           "measure_label", "unit_of"]
