"""End to end through the command line: the golden county as a real workbook, bad input, safety."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest

from golden_data import golden_tables
from hardening_util import cli
from scoring.sample import write_dataset

RUBRIC = Path(__file__).parent / "golden" / "small_rubric.toml"
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}


def scoring_process(*args, cwd=None):
    """The command as a user starts it: a new interpreter, ``python -m scoring``."""
    return subprocess.run([sys.executable, "-m", "scoring", *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=cwd)


def scoring(*args):
    """The same command line in this process (``scoring.cli.main``: the parser, the commands, the exit codes
    and the messages a user sees), without an interpreter's start-up per call."""
    code, out, err = cli(*args)
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


@pytest.fixture()
def golden_xlsx(tmp_path):
    p = tmp_path / "golden.xlsx"
    write_dataset(golden_tables(), p, "xlsx")
    return p


def test_run_golden_workbook_json_contract(golden_xlsx, tmp_path):
    out, js = tmp_path / "r.xlsx", tmp_path / "r.json"
    p = scoring("run", golden_xlsx, "-r", RUBRIC, "-o", out, "--json", js)
    assert p.returncode == 0, p.stderr
    assert "参评支部 3 个" in p.stdout
    d = json.loads(js.read_text(encoding="utf-8"))
    assert set(d) >= {"rubric", "data_sha256", "branches"}
    assert set(d["rubric"]) >= {"id", "name", "version", "sha256"} and d["rubric"]["id"] == "golden_small"
    assert [b["branch_id"] for b in d["branches"]] == ["C", "A", "B"]  # rank order
    for b in d["branches"]:
        assert set(b) >= {"branch_id", "name", "category", "parent", "rank", "total", "stars", "grade",
                          "dimensions", "indicators", "bonus", "vetoes", "flags"}
        for i in b["indicators"]:
            assert set(i) >= {"id", "dimension", "value", "points", "max", "explanation"}
        for x in b["dimensions"]:
            assert set(x) >= {"id", "name", "score", "max"}
        for x in b["bonus"]:
            assert set(x) >= {"id", "points", "counted", "explanation"}
        for x in b["vetoes"]:
            assert set(x) >= {"id", "effect", "explanation"}
    c, a, b = d["branches"]
    assert (c["total"], c["stars"], c["grade"]) == (100.0, None, None)
    assert c["vetoes"][0]["effect"] == "no_rating"
    assert (a["total"], a["stars"]) == (96.0, 4)
    assert (b["total"], b["stars"]) == (77.5, 3)
    pts = {i["id"]: i["points"] for i in b["indicators"]}
    assert pts == {"committee": 4.5, "lectures": 4.0, "attendance": 2.0, "satisfaction": 4.0, "economy": 1.0}
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames[:2] == ["总排名", "得分明细"]


def test_same_input_same_output(golden_xlsx, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert scoring("run", golden_xlsx, "-r", RUBRIC, "-o", tmp_path / "a.xlsx", "--json", a).returncode == 0
    assert scoring("run", golden_xlsx, "-r", RUBRIC, "-o", tmp_path / "b.xlsx", "--json", b).returncode == 0
    assert a.read_bytes() == b.read_bytes()


def test_bad_data_exit_1_located_chinese_no_output(tmp_path):
    t = golden_tables()
    t["meetings"].loc[0, "kind"] = "支部委员会议"  # unknown enumeration value
    t["surveys"].loc[1, "branch_id"] = "Z"  # unknown branch
    bad = tmp_path / "bad.xlsx"
    write_dataset(t, bad, "xlsx")
    out, js = tmp_path / "r.xlsx", tmp_path / "r.json"
    p = scoring_process("run", bad, "-r", RUBRIC, "-o", out, "--json", js)
    assert p.returncode == 1
    assert "Traceback" not in p.stderr
    assert "工作表「组织生活记录」第2行「类型」列" in p.stderr and "支部委员会议" in p.stderr
    assert "工作表「群众满意度测评」第3行「支部编码」列" in p.stderr and "「Z」" in p.stderr
    assert "2 处问题" in p.stderr
    assert not out.exists() and not js.exists()


def test_output_may_not_overwrite_an_input(golden_xlsx):
    before = golden_xlsx.read_bytes()
    p = scoring("run", golden_xlsx, "-r", RUBRIC, "-o", golden_xlsx)
    assert p.returncode == 2 and "不能覆盖输入文件" in p.stderr
    assert golden_xlsx.read_bytes() == before


def test_missing_data_path_is_a_usage_error(tmp_path):
    p = scoring("run", tmp_path / "nothing.xlsx", "-o", tmp_path / "r.xlsx")
    assert p.returncode == 2 and "找不到数据" in p.stderr and "Traceback" not in p.stderr


def test_unknown_option_is_a_chinese_usage_error():
    p = scoring_process("run")
    assert p.returncode == 2 and "缺少必需的参数" in p.stderr


def test_sample_then_run_from_parquet(tmp_path):
    d = tmp_path / "county"
    p = scoring_process("sample", "--branches", 12, "-o", d, "--format", "parquet")
    assert p.returncode == 0, p.stderr
    assert (d / "branches.parquet").exists()
    js = tmp_path / "r.json"
    p = scoring("run", d, "-o", tmp_path / "r.xlsx", "--json", js, "-q")
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    assert len(json.loads(js.read_text(encoding="utf-8"))["branches"]) == 12


def test_previous_year_comparison_from_last_years_json(golden_xlsx, tmp_path):
    last = tmp_path / "2024.json"
    last.write_text(json.dumps({"branches": [
        {"branch_id": "A", "name": "东岗村党支部", "rank": 1, "total": 91.0, "stars": 3, "grade": None, "level": "三星"},
        {"branch_id": "B", "name": "西岭村党支部", "rank": 2, "total": 88.0, "stars": 4, "grade": None, "level": "四星"},
        {"branch_id": "D", "name": "已撤并村党支部", "rank": 3, "total": 70.0, "stars": 2, "grade": None, "level": "二星"},
    ]}, ensure_ascii=False), encoding="utf-8")
    js = tmp_path / "r.json"
    p = scoring("run", golden_xlsx, "-r", RUBRIC, "-o", tmp_path / "r.xlsx", "--json", js, "--previous", last)
    assert p.returncode == 0, p.stderr
    # A: 三星 -> 四星 (up), rank 1 -> 2; B: 四星 -> 三星 (down); C is new; D is gone
    assert "与上年相比：升级（升星）1 个，降级（降星）1 个，新参评 1 个，上年参评而今年未参评 1 个" in p.stdout
    d = json.loads(js.read_text(encoding="utf-8"))
    prev = {b["branch_id"]: b.get("previous") for b in d["branches"]}
    assert prev["A"]["change"] == "升星" and prev["A"]["rank_change"] == -1
    assert prev["B"]["change"] == "降星"
    assert [g["branch_id"] for g in d["gone"]] == ["D"]


def test_previous_file_may_not_be_overwritten_and_must_exist(golden_xlsx, tmp_path):
    p = scoring("run", golden_xlsx, "-r", RUBRIC, "-o", tmp_path / "r.xlsx", "--previous", tmp_path / "none.json")
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_lenient_ranks_the_rest_and_lists_the_unrated(tmp_path):
    t = golden_tables()
    t["meetings"].loc[0, "kind"] = "支部委员会议"  # A's record has an unknown kind
    bad = tmp_path / "bad.xlsx"
    write_dataset(t, bad, "xlsx")
    js = tmp_path / "r.json"
    strict = scoring("run", bad, "-r", RUBRIC, "-o", tmp_path / "s.xlsx")
    assert strict.returncode == 1
    p = scoring("run", bad, "-r", RUBRIC, "-o", tmp_path / "r.xlsx", "--json", js, "--lenient")
    assert p.returncode == 0, p.stderr
    assert "因数据有误未评定 1 个支部" in p.stdout and "A" in p.stdout.splitlines()[-2]
    d = json.loads(js.read_text(encoding="utf-8"))
    assert [b["branch_id"] for b in d["branches"]] == ["C", "B"]
    assert d["excluded"][0]["branch_id"] == "A" and any("支部委员会议" in r for r in d["excluded"][0]["reasons"])
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)
    cells = [str(c) for row in wb["数据质量"].iter_rows(values_only=True) for c in row if c is not None]
    assert any("支部委员会议" in c for c in cells)


def test_county_custom_rubric_runs_end_to_end_with_its_local_plugin(tmp_path):
    d = tmp_path / "county"
    assert scoring("sample", "--branches", 12, "-o", d, "--format", "parquet").returncode == 0
    custom = Path(__file__).resolve().parent.parent / "rubrics" / "examples" / "county_custom.toml"
    js = tmp_path / "r.json"
    p = scoring("run", d, "-r", custom, "-o", tmp_path / "r.xlsx", "--json", js)
    assert p.returncode == 0, p.stderr
    d = json.loads(js.read_text(encoding="utf-8"))
    assert d["rubric"]["id"] == "county_custom"
    young = [i for b in d["branches"] for i in b["indicators"] if i["id"] == "young_members"]
    assert len(young) == 12 and all(0 <= i["points"] <= 2 for i in young)
    assert any("35岁以下" in i["explanation"] for i in young)
    lectures = [i for b in d["branches"] for i in b["indicators"] if i["id"] == "party_lectures"]
    assert all("要求2次" in i["explanation"] or "不适用" in i["explanation"] for i in lectures)


def test_template_and_self_check_commands(tmp_path, golden_xlsx):
    p = scoring("template", "-r", RUBRIC, "-o", tmp_path / "t.xlsx")
    assert p.returncode == 0 and (tmp_path / "t.xlsx").exists()
    out = tmp_path / "sc.xlsx"
    p = scoring("self-check", golden_xlsx, "-b", "B", "-r", RUBRIC, "-o", out)
    assert p.returncode == 0, p.stderr
    assert "西岭村党支部" in p.stdout and "77.5" in p.stdout and out.exists()
    p = scoring("self-check", golden_xlsx, "-b", "Z", "-r", RUBRIC, "-o", out)
    assert p.returncode == 2 and "Traceback" not in p.stderr
