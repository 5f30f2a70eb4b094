"""Every sentence lets a reader redo the arithmetic: for every indicator of every branch of the sample county,
under every shipped rubric, the points are recomputed here from the numbers the explanation shows (and the
row's 满分 column), independently of the rule modules, and must equal the points shown (2 decimals, half up).

The parsing follows the sentence shapes of each reason code; a sentence that does not parse is a failure
(a new wording must come with its arithmetic here). The measured value is the one the sentence restates
("按89.96%计") or, when it does not, the value at its usual precision, which must then appear in the text.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from scoring.engine import load, score
from scoring.output.jsonout import to_json_dict

ROOT = Path(__file__).resolve().parent.parent
RUBRICS = ["five_star", "five_good", "classification", "points", str(ROOT / "rubrics" / "examples" / "county_custom.toml")]
N = r"(-?\d+(?:\.\d+)?)"


def D(x) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(repr(float(x)))


def r2(x) -> float:
    """Half up at 2 decimals, as a reader rounds: the arithmetic here is decimal, as by hand (never the
    code under test's binary floats)."""
    return float(D(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def usual(v: float, rate: bool, digits: int = -1) -> str:
    """The value at its usual precision: the measure's own digits, else percent with one decimal and others
    with two; trailing zeros dropped."""
    d = digits if digits >= 0 else (1 if rate else 2)
    q = Decimal(1).scaleb(-d)
    v = D(v)
    if rate:
        x = (v * 100).quantize(q, rounding=ROUND_HALF_UP)
        return f"{x.normalize():f}" + "%"
    x = v.quantize(q, rounding=ROUND_HALF_UP)
    return f"{x.normalize():f}"


def num(text: str, rate: bool = False) -> Decimal:
    """A number as the sentence shows it ("95%" -> 0.95 for rates), exactly."""
    x = Decimal(text.rstrip("%"))
    return x / 100 if text.endswith("%") or rate else x


def holds(op: str, v: Decimal, thr: Decimal) -> bool:
    return {"达到": v >= thr, "超过": v > thr, "不超过": v <= thr, "低于": v < thr, "为": v == thr, "等于": v == thr}[op]


def clip(x: Decimal, lo, hi) -> Decimal:
    return max(D(lo), min(D(hi), x))


OPS = r"(达到|超过|不超过|低于|为|等于)"
VAL = r"(-?\d+(?:\.\d+)?%?)"


def shown_value(row, rest: str) -> tuple[float, str]:
    """(the value a reader uses, the rule part without the restatement)."""
    m = re.search(r"，按" + VAL + r"[^，（]*?计(?=，)", rest)
    if m and not m.group(0).startswith("，按" + m.group(1) + "×"):
        return num(m.group(1), row["rate"]), rest.replace(m.group(0), "", 1)
    text = usual(float(row["value"]), bool(row["rate"]), int(row["digits"]))
    # a 0 may be said in words ("本年度发展预备党员2名" for 0 years since the last one, "本年度无…")
    assert text in row["explanation"] or float(row["value"]) == 0, (row["explanation"], text)
    return num(text, row["rate"]), rest


SLACK: dict = {}  # (branch, indicator) -> how far a value shown at its last digit may move the points


def _slack(row, v_text_digits: int, slope: Decimal) -> None:
    """A value shown with the most digits (4) can still sit on a rounding edge of the points (34/3 学时 x 6/32 =
    2.125 exactly): the points may then differ by what half a unit of its last digit moves them."""
    SLACK[(row["branch_id"], row["indicator"])] = Decimal(5).scaleb(-v_text_digits - 1) * abs(slope)


def digits_of(text: str) -> int:
    t = text.rstrip("%")
    return len(t.split(".")[1]) if "." in t else 0


def rule_points(row, rest: str) -> float:
    """The rule's points recomputed from the rule part of the sentence (before extra deductions)."""
    code = row["reason"]
    mx = D(row["max"]) if row["max"] else D(row["nominal_max"])
    rate = bool(row["rate"])
    if code == "shortfall.met":
        m = re.fullmatch(r"，达到要求" + VAL + r"\D*，得满分" + N + "分", rest)
        assert m and Decimal(m.group(2)) == mx
        return mx
    if code in ("shortfall.deducted", "shortfall.floor"):
        m = re.match(r"，要求" + VAL + r"\D*，少" + N + r"(个百分点|\D*?)，每\D*?扣" + N + "分", rest)
        assert m, rest
        target, short, per = num(m.group(1), rate), Decimal(m.group(2)), Decimal(m.group(4))
        v = D(row["value"])
        assert abs(short - (target - v) * (100 if rate else 1)) <= Decimal("0.005")
        raw = short * per
        if code == "shortfall.floor":
            m2 = re.search(r"，应扣" + N + r"分，本项满分" + N + r"分，扣完为止，得0分$", rest)
            assert m2 and abs(float(m2.group(1)) - r2(raw)) < 1e-9 and raw > mx
            return Decimal(0)
        m2 = re.search(r"，扣" + N + "分$", rest)
        assert m2 and abs(float(m2.group(1)) - r2(raw)) < 1e-9, rest
        return mx - raw
    if code in ("steps.hit", "steps.none"):
        v, rest = shown_value(row, rest)
        if code == "steps.none":
            m = re.fullmatch(r"，未达到最低档（" + OPS + VAL + r"\D*）" + r"，得" + N + "分", rest)
            assert m and not holds(m.group(1), v, num(m.group(2), rate)), rest
            return Decimal(m.group(3))
        m = re.fullmatch(r"，" + OPS + VAL + r"\D*，得" + N + r"分(?:（满分" + N + "分）)?", rest)
        assert m and holds(m.group(1), v, num(m.group(2), rate)), rest
        return Decimal(m.group(3))
    if code == "linear":
        v, rest = shown_value(row, rest)
        m = re.fullmatch(r"，按" + VAL + r"\D*得0分、" + VAL + r"\D*得满分" + N + r"分线性计分，得" + N + "分", rest)
        assert m, rest
        z, f, full = num(m.group(1), rate), num(m.group(2), rate), Decimal(m.group(3))
        assert full == mx
        _slack(row, 4 + (2 if rate else 0), full / (f - z))
        return clip((v - z) / (f - z), 0, 1) * full
    if code == "ratio":
        v, rest = shown_value(row, rest)
        m = re.fullmatch(r"，以" + VAL + r"\D*为满分标准，得" + N + "分", rest)
        assert m, rest
        _slack(row, 4 + (2 if rate else 0), mx / num(m.group(1), rate))
        return clip(v / num(m.group(1), rate), 0, 1) * mx
    if code in ("pass.ok", "pass.fail"):
        v, rest = shown_value(row, rest)
        if code == "pass.ok":
            assert re.fullmatch(r"，符合要求，得满分" + N + "分", rest), rest
            return mx
        m = re.fullmatch(r"，不符合要求（应" + OPS + VAL + r"\D*），不得分", rest)
        assert m and not holds(m.group(1), v, num(m.group(2), rate)), rest
        return Decimal(0)
    if code.startswith("event."):
        count = D(row["value"])
        assert usual(count, False) in row["explanation"] or count == 0
        if code == "event.none":
            assert re.fullmatch(r"，得满分" + N + "分", rest) and count == 0
            return mx
        m = re.match(r"，每\D扣" + N + "分", rest)
        per = Decimal(m.group(1))
        if code == "event.cap":
            m2 = re.search(r"，应扣" + N + r"分，扣分上限" + N + r"分，扣" + N + "分$", rest)
            assert m2 and abs(float(m2.group(1)) - r2(count * per)) < 1e-9
            return mx - min(count * per, Decimal(m2.group(2)))
        assert re.search(r"，扣" + N + "分$", rest)
        return mx - count * per
    if code.startswith("unit."):
        if re.fullmatch(r"，每\D+?(加|扣)" + N + r"分，本项不(加|扣)分", rest):
            assert D(row["value"]) == 0
            return Decimal(0)
        m = re.fullmatch(r"，按" + VAL + r"×" + N + r"分计，(加|扣)" + N + r"分(?:（\D分上限" + N + "分）)?", rest)
        if m:
            v, per = num(m.group(1), True), Decimal(m.group(2))
        else:
            v, rest = shown_value(row, rest)
            m = re.fullmatch(r"，每\D+?(加|扣)" + N + r"分，(加|扣)" + N + r"分(?:（\D分上限" + N + "分）)?", rest)
            assert m, rest
            per = Decimal(m.group(2))
        sign = -1 if "扣" in rest[:rest.index("分")] else 1
        cap = D(row["nominal_max"])
        return clip(sign * v * per, -cap, cap)
    if code in ("manual", "manual.over"):
        v = D(row["value"])
        assert usual(float(v), False) in row["explanation"]
        m = re.fullmatch(r"，计" + N + r"分（(?:超过)?满分" + N + r"分(?:，按满分计)?）", rest)
        assert m and Decimal(m.group(2)) == D(row["nominal_max"]), rest
        return clip(v, 0, Decimal(m.group(2)))
    raise AssertionError(f"no arithmetic for reason {code}: {row['explanation']}")


EXTRA = re.compile(r"；(.+?)" + N + r"(\D)，每\3扣" + N + r"分(?:，扣" + N + r"分|，应扣" + N + r"分，本项仅剩" + N
                   + r"分，扣" + N + r"分|，本项已为0分，不再扣分)")


def recompute(row) -> float:
    text, evidence, code = row["explanation"], row["evidence"], row["reason"]
    if code == "no_data":
        assert text == evidence + "，此项不得分"
        return Decimal(0)
    if code in ("na", "na.category"):
        assert text.startswith("不适用：") and text.count("不适用") == 1, text
        return D(row["points"])  # not applicable: full marks or out of the maximum, the rubric says which
    assert text.startswith(evidence), (text, evidence)
    rest = text[len(evidence):]
    final = None
    m = re.search(r"，本项得" + N + "分$", rest)
    if m:
        final, rest = Decimal(m.group(1)), rest[: m.start()]
    cuts = []
    first = rest.find("；")
    if first >= 0:
        extras, rest = rest[first:], rest[:first]
        for em in EXTRA.finditer(extras):
            n, per = Decimal(em.group(2)), Decimal(em.group(4))
            raw = n * per
            if em.group(5) is not None:
                assert abs(float(em.group(5)) - r2(raw)) < 1e-9
                cuts.append(raw)
            elif em.group(6) is not None:
                assert abs(float(em.group(6)) - r2(raw)) < 1e-9 and Decimal(em.group(7)) == Decimal(em.group(8))
                cuts.append(Decimal(em.group(8)))
            else:
                cuts.append(Decimal(0))
        assert "".join(x.group(0) for x in EXTRA.finditer(extras)) == extras, extras
    pts = rule_points(row, rest)
    shown_rule = re.findall(r"得" + N + "分", rest)
    if shown_rule and code in ("linear", "ratio"):
        slack = SLACK.get((row["branch_id"], row["indicator"]), Decimal(0))
        assert abs(float(shown_rule[-1]) - r2(pts)) < 1e-9 or abs(Decimal(shown_rule[-1]) - pts) <= Decimal("0.005") + slack, (text, pts)
    if sum(cuts) > 0:
        assert final is not None, text
        # the shown rule points less the shown cuts give the shown final points
        assert abs(float(final) - r2(max(Decimal(0), D(r2(pts)) - sum(cuts)))) < 1e-9, (text, cuts)
        pts = final
    return pts


@pytest.fixture(scope="module", params=RUBRICS, ids=lambda p: Path(p).stem)
def scored(request, sample_county):
    r, reg, _ = load(request.param)
    return score(r, reg, sample_county)


def test_every_explanation_reproduces_its_points(scored):
    bad = []
    for row in scored.indicators.to_dict("records"):
        try:
            got = recompute(row)
        except AssertionError as e:
            bad.append(f"{row['branch_id']} {row['indicator']} {row['reason']}: {row['explanation']} ({e})")
            continue
        slack = SLACK.get((row["branch_id"], row["indicator"]), Decimal(0))
        if abs(r2(got) - r2(row["points"])) > 1e-9 and abs(D(got) - D(r2(row["points"]))) > Decimal("0.005") + slack:
            bad.append(f"{row['branch_id']} {row['indicator']}: recomputed {got} but shows {row['points']}: {row['explanation']}")
    assert bad == [], "\n".join(bad[:20])


def test_no_sentence_says_the_same_thing_twice_or_a_bound_of_zero(scored):
    text = scored.indicators["explanation"]
    assert not text.str.contains("不超过0").any()
    assert not text.str.contains("扣0分").any()
    assert (text.str.count("不适用") <= 1).all()


def test_reason_fields_give_the_points(scored):
    """The JSON's reason fields are enough to recompute the points without the sentence."""
    data = to_json_dict(scored)
    checked = 0
    for b in data["branches"]:
        for i in b["indicators"]:
            f, code, mx = i["reason_fields"], i["reason"], i["nominal_max"]
            pts = None
            if code == "shortfall.deducted":
                pts = mx - f["shortfall"] * f["per"]
            elif code == "shortfall.floor":
                pts = 0.0
            elif code == "shortfall.met":
                pts = mx
            elif code == "linear":
                pts = min(1, max(0, (i["value"] - f["zero_at"]) / (f["full_at"] - f["zero_at"]))) * mx
            elif code == "ratio":
                pts = min(1, max(0, i["value"] / f["target"])) * mx
            elif code.startswith("event.") and code != "event.none":
                pts = mx - f["deducted"]
            elif code.startswith("unit."):
                pts = max(-mx, min(mx, i["value"] * f["per"]))
            elif code in ("pass.ok", "pass.fail"):
                pts = mx if code == "pass.ok" else 0.0
            if pts is None:
                continue
            cut = sum(x["cut"] for x in f.get("extra_deductions", []))
            expected = pts - cut if code.startswith("unit.") else max(0.0, pts - cut)  # 积分制 items may be negative
            # JSON numbers carry 4 decimals: within the 2-decimal rounding of the points
            assert abs(expected - i["points"]) < 0.005, (b["branch_id"], i["id"], f, i["points"])
            checked += 1
    assert checked > 100
