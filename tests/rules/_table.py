"""Helpers for the rule table tests: score a rule on values and word the rows as the wording module does."""

from __future__ import annotations

import numpy as np

from scoring import rules


def score(rule, values, mx):
    rt = rules.of(rule)
    v = np.asarray(values, dtype=float)
    sc = rt.score(rule, v, mx)
    return sc


def sentences(rule, values, mx, unit=rules.Unit()):
    """The rule's part of the explanation for each value (as :func:`scoring.wording.explain` calls it)."""
    rt = rules.of(rule)
    v = np.asarray(values, dtype=float)
    sc = rt.score(rule, v, mx)
    f = {"value": v, "points": sc.points, "reason": sc.reason, **sc.fields}
    return list(rt.sentence(rule, f, mx, unit))
