"""Rubric loading: the standard rubric validates; every invalid case gives its exact located messages."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from hardening_util import cli

from scoring.engine import load
from scoring.errors import RubricCode, RubricError
from scoring.rubric import builtin_names

CASES = sorted((Path(__file__).parent / "invalid_rubrics").glob("*.toml"))


def test_standard_rubric_loads_and_sums_to_100():
    rubric, _, shown = load("five_star")
    assert shown == "rubrics/five_star.toml"
    assert sum(d.total_max for d in rubric.dimensions) == 100
    assert [d.name for d in rubric.dimensions] == ["领导班子好", "党员队伍好", "工作机制好", "工作业绩好", "群众反映好"]
    assert rubric.bonus.cap == 5
    assert [lv.min for lv in rubric.grading.levels] == [90, 80, 70, 60, 0]
    assert "five_star" in builtin_names()


def test_fingerprint_is_stable():
    a, _, _ = load("five_star")
    b, _, _ = load("five_star")
    assert a.sha256() == b.sha256() and len(a.sha256()) == 64


def test_there_are_enough_invalid_cases():
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_invalid_rubric_messages(case, monkeypatch):
    monkeypatch.chdir(case.parent)
    with pytest.raises(RubricError) as e:
        load(case.name)
    expected = case.with_suffix(".errors.txt").read_text(encoding="utf-8").strip()
    assert str(e.value).strip() == expected
    for line in e.value.messages:
        assert line.split(": ")[0].endswith(".toml") and case.name in line  # names the file (and key path)


# the reason code of each golden case's errors, by the case's kind (the name says what it tries)
CODE_OF = {
    "dup_": RubricCode.DUPLICATE_ID, "duplicate_": RubricCode.DUPLICATE_ID, "extends_adds": RubricCode.DUPLICATE_ID,
    "variant_adds": RubricCode.DUPLICATE_ID, "extends_": RubricCode.EXTENDS, "enum_": RubricCode.UNKNOWN_VALUE,
    "steps_": RubricCode.RULE, "linear_never": RubricCode.RULE, "pass_fail_never": RubricCode.RULE,
    "ratio_percent": RubricCode.RULE, "unknown_measure": RubricCode.UNKNOWN_MEASURE,
    "measure_typo": RubricCode.UNKNOWN_MEASURE, "unknown_param": RubricCode.UNKNOWN_PARAMETER,
    "toml_syntax": RubricCode.TOML_SYNTAX, "percent_share": RubricCode.TOML_SYNTAX, "typo_key": RubricCode.SCHEMA,
    "wrong_type": RubricCode.SCHEMA, "veto_unknown_indicator": RubricCode.UNKNOWN_REFERENCE,
    "unknown_tie_break": RubricCode.UNKNOWN_REFERENCE, "level_typo": RubricCode.UNKNOWN_VALUE,
    "unknown_category": RubricCode.UNKNOWN_VALUE, "points_exceed": RubricCode.INCONSISTENT,
}


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_invalid_rubric_errors_carry_reason_codes(case, monkeypatch):
    monkeypatch.chdir(case.parent)
    with pytest.raises(RubricError) as e:
        load(case.name)
    assert all(isinstance(c, RubricCode) for c in e.value.codes), e.value.messages  # every message has one
    kind = next((code for prefix, code in CODE_OF.items() if case.stem.startswith(prefix)), None)
    if kind is not None:
        assert set(e.value.codes) == {kind}, (case.stem, e.value.codes)


def test_a_coded_rubric_error_survives_pickling():
    """A Dask worker sends its errors to the driver pickled: the codes go with the messages."""
    import pickle

    with pytest.raises(RubricError) as e:
        load(str(next(c for c in CASES if c.stem == "unknown_measure")))
    again = pickle.loads(pickle.dumps(e.value))
    assert again.messages == e.value.messages and again.codes == [RubricCode.UNKNOWN_MEASURE]


def test_reason_codes_cover_the_kinds_of_golden_cases():
    prefixed = [c.stem for c in CASES if any(c.stem.startswith(p) for p in CODE_OF)]
    assert len(prefixed) >= 30


@pytest.mark.parametrize("case", CASES[:3], ids=[c.stem for c in CASES[:3]])
def test_cli_exits_2_without_traceback(case, tmp_path):
    out = tmp_path / "r.xlsx"
    rc, _, err = cli("run", tmp_path, "-r", case, "-o", out)
    assert rc == 2
    assert "Traceback" not in err
    assert str(case) in err
    assert not out.exists()


def test_missing_rubric_file_is_a_usage_error(tmp_path):
    with pytest.raises(RubricError) as e:
        load(str(tmp_path / "nope.toml"))
    assert "找不到评分标准文件" in str(e.value)


def test_json_schema_validates_every_shipped_rubric():
    import jsonschema

    from scoring.rubric import read_toml
    from scoring.rubric_tools import json_schema

    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    root = Path(__file__).resolve().parent.parent / "rubrics"
    files = sorted(root.glob("*.toml")) + sorted(root.glob("examples/*.toml"))
    assert len(files) >= 6
    for f in files:
        errors = list(validator.iter_errors(read_toml(f, f.name)))
        assert not errors, (f.name, [e.message for e in errors][:3])
    # and it catches what authors get wrong
    bad = read_toml(root / "five_star.toml", "five_star.toml")
    bad["grading"]["modle"] = "stars"
    assert list(validator.iter_errors(bad))
    bad = read_toml(root / "examples" / "county_custom.toml", "county_custom.toml")
    bad["quotas"][0]["max_share"] = "15%"
    assert list(validator.iter_errors(bad))


def test_rubric_commands_from_the_cli(tmp_path):
    def run(*args):
        rc, out, err = cli("rubric", *args)
        return SimpleNamespace(returncode=rc, stdout=out, stderr=err)

    p = run("check", "five_star")
    assert p.returncode == 0 and "评分标准有效：rubrics/five_star.toml" in p.stdout and "五星≥90" in p.stdout
    p = run("check", str(CASES[0]))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    custom = Path(__file__).resolve().parent.parent / "rubrics" / "examples" / "county_custom.toml"
    p = run("diff", "five_star", str(custom))
    assert p.returncode == 0
    changes = [line.strip() for line in p.stdout.splitlines()[1:] if line.startswith("    ") or "新增指标" in line]
    assert changes == [
        "新增指标：青年党员占比（young_members），2分，测量项 young_member_share，青年党员占比达到15%得满分，不足按比例计分",
        "党员学习培训（member_training）max：6 → 4",
        "党课（party_lectures）rule.per：1 → 2",
        "党课（party_lectures）rule.target：4 → 2",
        "五星名额（全县）max_share：0.1 → 0.15",
    ]
    out = tmp_path / "schema.json"
    p = run("schema", "-o", str(out))
    assert p.returncode == 0 and out.exists()


# ---------------------------------------------------------------- fragments meant for extends
def _cli(capsys, *args):
    from scoring.cli import main

    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_check_of_a_fragment_says_it_is_one(capsys):
    rc, out, err = _cli(capsys, "rubric", "check", "_bonus")
    assert rc == 0 and err == ""
    assert out.splitlines() == [
        "这是供 extends 继承的片段：rubrics/_bonus.toml",
        "  没有 id，不能单独用于评分；在评分标准中写 extends = \"_bonus.toml\"（或 extends = [\"five_star\", \"_bonus.toml\"]）继承它",
        "  含有：bonus（加分项：创新加分）",
        "  其中写了的键和取值都正确；缺少的键由继承它的评分标准提供，合并后的完整检查请对那个评分标准运行 scoring rubric check",
    ]


def test_check_of_a_fragment_finds_its_real_mistakes(tmp_path, capsys):
    frag = tmp_path / "_county.toml"
    frag.write_text(
        '[bonus]\nname = "创新加分"\ncap = -1\ncolour = "red"\nmeasure = "honour_claims"\n\n'
        '[ranking]\ntie_break = "base_total"\n\n'
        '[[dimensions]]\nid = "team"\n[[dimensions.indicators]]\nid = "x"\nmax = "three"\n',
        encoding="utf-8")
    rc, out, err = _cli(capsys, "rubric", "check", str(frag))
    assert rc == 2 and out == "" and "Traceback" not in err
    lines = err.splitlines()
    assert lines[0] == "这是供 extends 继承的片段，其中有 5 处错误："
    assert sorted(x.strip() for x in lines[1:]) == sorted([
        f"{frag}: bonus.cap: 必须大于 0",
        f"{frag}: bonus.colour: 未知的键（拼写错误？）",
        f"{frag}: ranking.tie_break: 应为数组",
        f"{frag}: dimensions[1].indicators[1].max: 应为数字",
        f"{frag}: bonus.measure: 未知的测量项「honour_claims」（用 scoring plugins 查看可用的测量项）",
    ])
    assert not any("缺少" in x for x in lines)  # what the extending rubric supplies is not a mistake


def test_a_complete_rubric_is_still_checked_as_a_whole(tmp_path, capsys):
    rc, out, _ = _cli(capsys, "rubric", "check", "five_star")
    assert rc == 0 and "片段" not in out and "评分标准有效：rubrics/five_star.toml" in out
