"""Every command reads only the columns the rubric's measures declare (``engine.read_for``).

A county workbook with a bad value in a column no measure of the rubric reads (党员名册's 性别) scores
exactly as the clean workbook, fingerprint included: the column is not converted, not checked and not
hashed. The same bad value in a column a measure reads is still a located error, and a command that
scores with two rubrics (``rubric diff --data``) reads what either of them reads."""

from __future__ import annotations

import json

import pytest
from hardening_util import cli

from scoring.engine import load, needed_columns
from scoring.reader import columns_to_read
from scoring.sample import generate_county, write_dataset

N_BRANCHES = 6


@pytest.fixture(scope="module")
def county():
    return generate_county(n_branches=N_BRANCHES, seed=11)


@pytest.fixture(scope="module")
def books(county, tmp_path_factory):
    """The clean workbook and three with one column made invalid in every row of 党员名册."""
    d = tmp_path_factory.mktemp("declared")
    out = {}
    for name, column in (("clean", None), ("gender", "gender"), ("status", "status")):
        tables = dict(county)
        if column:  # a value neither 性别 nor 党员类别 allows
            tables["members"] = tables["members"].assign(**{column: "未知"})
        (out[name],) = write_dataset(tables, d / f"{name}.xlsx", fmt="xlsx")
    return out


def _run(book, tmp_path, *extra):
    out = tmp_path / f"{book.stem}-{'-'.join(extra) or 'five_star'}.json"
    rc, _, stderr = cli("run", book, "--no-xlsx", "--json", out, "-q", *extra)
    return rc, (json.loads(out.read_text(encoding="utf-8")) if rc == 0 else None), stderr


def test_which_columns_five_star_and_points_leave_unread():
    """The premise of the tests below, from the rubrics' measures: 性别 is read by neither rubric,
    党员类别 by five_star only."""
    five, reg5, _ = load(None)
    points, regp, _ = load("points")
    read5 = columns_to_read(reg5.tables, needed_columns((five, reg5)))["members"]
    readp = columns_to_read(regp.tables, needed_columns((points, regp)))["members"]
    assert "gender" not in read5 and "gender" not in readp
    assert "status" in read5 and "status" not in readp
    both = columns_to_read(reg5.tables, needed_columns((five, reg5), (points, regp)))["members"]
    assert both == read5 | readp


def test_a_bad_value_in_an_unread_column_changes_nothing(books, tmp_path):
    rc_clean, clean, _ = _run(books["clean"], tmp_path)
    rc_bad, bad, stderr = _run(books["gender"], tmp_path)
    assert (rc_clean, rc_bad) == (0, 0), stderr
    assert bad["data_sha256"] == clean["data_sha256"]  # the unread column is not in the fingerprint
    assert bad["branches"] == clean["branches"]
    assert [b["branch_id"] for b in bad["branches"]] == [b["branch_id"] for b in clean["branches"]]
    assert len(bad["branches"]) == N_BRANCHES


def test_a_bad_value_in_a_read_column_is_still_a_located_error(books, tmp_path):
    rc, _, stderr = _run(books["status"], tmp_path)
    assert rc == 1
    assert "Traceback" not in stderr
    # the first record, under the header row, located as the user sees it
    assert "status.xlsx 工作表「党员名册」第2行「党员类别」列：「党员类别」的值「未知」不在允许范围内" in stderr
    # the rubric that does not read 党员类别 scores the same workbook
    rc_points, result, stderr = _run(books["status"], tmp_path, "-r", "points")
    assert rc_points == 0, stderr
    assert len(result["branches"]) == N_BRANCHES


def test_rubric_diff_reads_what_either_rubric_reads(books, tmp_path):
    rc, _, stderr = cli("rubric", "diff", "points", "five_star", "--data", books["status"], "-q")
    assert rc == 1 and "党员类别" in stderr and "Traceback" not in stderr
    rc, stdout, stderr = cli("rubric", "diff", "points", "five_star", "--data", books["gender"], "-q")
    assert rc == 0, stderr
    assert f"参评支部 {N_BRANCHES} 个" in stdout


def test_self_check_reads_the_declared_columns_too(books, county, tmp_path):
    branch = str(county["branches"]["branch_id"].iloc[0])
    rc, _, stderr = cli("self-check", books["gender"], "-b", branch, "-o", tmp_path / "sc.xlsx")
    assert rc == 0, stderr
    assert (tmp_path / "sc.xlsx").exists()
