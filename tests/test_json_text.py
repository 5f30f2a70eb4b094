"""The ``--json`` text (scoring.output.jsonout.iter_json / write_json, made column by column with Arrow) against
an independent writer: the dicts of ``to_json_dict`` encoded by the standard library's json (what the contract
says the text is). Same bytes on a scored county with extra deductions, bonus claims, vetoes, warnings, flags,
last year's results and excluded branches, for any chunk size, and on values that need escaping, are
missing, not finite, or sit in object columns."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from scoring.engine import load, score
from scoring.output import jsonout
from scoring.output.jsonout import iter_json, to_json_dict, write_json
from scoring.previous import attach, load_previous
from scoring.testing import county_dataset


def stdlib_text(result) -> bytes:
    return (json.dumps(to_json_dict(result), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def text(result) -> bytes:
    return b"".join(iter_json(result))


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """24 scored branches with last year's results (two branches of last year gone, one new this year) and
    two branches excluded in lenient mode."""
    r, reg, _ = load("five_star", [])
    result = score(r, reg, county_dataset(24), 2025)
    last = to_json_dict(result)
    entries = last["branches"][1:]  # this year's first branch is new
    for i, entry in enumerate(entries):
        entry["rank"], entry["total"] = i + 1, entry["total"] - (i % 3)
    entries += [dict(entries[0], branch_id="GONE-1", name="已撤并党支部", rank=24),
                dict(entries[1], branch_id="GONE-2", name="另一个撤并的党支部", rank=25)]
    last["branches"] = entries
    path = tmp_path_factory.mktemp("previous") / "last.json"
    path.write_text(json.dumps(last, ensure_ascii=False), encoding="utf-8")
    attach(result, load_previous(path))
    result.meta.excluded = pd.DataFrame({"branch_id": ["X1", "X2"], "name": ["甲党支部", "乙党支部"],
                                         "reasons": [["会议记录第3行：日期无效", "党费第9行：金额为负"], "名册缺失"]})
    return result


def test_county_text_is_the_stdlib_text_of_the_dicts(county, tmp_path):
    # the county has what the text writer handles apart: extra deductions, claims, vetoes, warnings, flags
    assert len(county.extras) and len(county.bonus) and len(county.vetoes) and len(county.warnings)
    assert (county.branches["flags"].fillna("") != "").any()
    data = to_json_dict(county)
    assert [g["branch_id"] for g in data["gone"]] == ["GONE-1", "GONE-2"]
    assert data["branches"][0]["previous"]["change"] == "新参评"
    assert any("extra_deductions" in i["reason_fields"] for b in data["branches"] for i in b["indicators"])
    write_json(county, tmp_path / "r.json")
    assert (tmp_path / "r.json").read_bytes() == stdlib_text(county)


@pytest.mark.parametrize("chunk", [1, 5, 23, 24, 1000])
def test_chunk_size_does_not_change_the_text(county, chunk):
    whole = b"".join(jsonout._branch_texts(county, 1000))
    assert b"".join(jsonout._branch_texts(county, chunk)) == whole
    assert whole.startswith(b'\n    {\n      "branch_id": ') and whole.endswith(b"\n    }")
    assert whole.count(b',\n    {\n      "branch_id": ') == 23


def awkward(result):
    """A copy of ``result`` whose values need escaping, are missing or not finite, or are held in object
    columns instead of Arrow strings."""
    branches = result.branches.copy()
    branches["name"] = branches["name"].astype(object)
    branches.loc[0, "name"] = 'a"b\\c\nd\te\x01f \U0001F600；/\x7f'
    branches.loc[1, "parent"] = None
    branches["grade"] = ["", "好"] + [None] * (len(branches) - 2)
    branches.loc[2, "total"] = np.inf
    branches.loc[3, "total"] = -1e-9  # rounds to -0.0
    ind = result.indicators.copy()
    first = ind.index[ind["branch_id"] == branches.loc[0, "branch_id"]]
    ind.loc[first[0], "explanation"] = '说明"引号"与\\反斜杠'
    ind.loc[first[1], "value"] = 123.456789
    ind.loc[first[2], "value"] = 1e20
    ind.loc[first[3], "value"] = np.nan
    ind["name"] = ind["name"].astype(object)
    ind.loc[first[4], "name"] = 7  # not a string: written as its text
    ind["applicable"] = ind["applicable"].astype(object)
    ind.loc[first[5], "applicable"] = None
    ind["op"] = ind["op"].astype(object)  # a text reason field outside Arrow
    ind = ind.drop(columns=["evidence"])
    return dataclasses.replace(result, branches=branches, indicators=ind)


def test_awkward_values(county):
    result = awkward(county)
    out = text(result)
    assert out == stdlib_text(result)
    assert ('"name": "a\\"b\\\\c\\nd\\te\\u0001f \U0001F600；/\x7f"').encode("utf-8") in out
    first = json.loads(out)["branches"][0]
    assert first["name"] == 'a"b\\c\nd\te\x01f \U0001F600；/\x7f' and first["grade"] is None
    assert first["indicators"][0]["explanation"] == '说明"引号"与\\反斜杠'
    assert [i["value"] for i in first["indicators"][1:4]] == [123.4568, 1e20, None]
    assert first["indicators"][4]["name"] == "7" and first["indicators"][5]["applicable"] is None
    assert all(i["evidence"] is None for i in first["indicators"])
    data = json.loads(out)["branches"]
    assert data[1]["grade"] == "好" and data[1]["parent"] is None
    assert data[2]["total"] is None and b'"total": -0.0,' in out


def test_empty_parts(county):
    empty = dataclasses.replace(
        county, bonus=county.bonus.iloc[:0], vetoes=county.vetoes.iloc[:0], warnings=county.warnings.iloc[:0],
        extras=county.extras.iloc[:0], indicators=county.indicators.iloc[:0],
    )
    assert text(empty) == stdlib_text(empty)
    assert b'"indicators": [],\n      "bonus": [],\n      "vetoes": [],' in text(empty)
    none = dataclasses.replace(empty, branches=county.branches.iloc[:0], dimensions=county.dimensions.iloc[:0])
    none.meta = dataclasses.replace(county.meta, previous=None, gone=None, excluded=None)
    assert text(none) == stdlib_text(none)
    assert b'\n  "branches": []\n}\n' in text(none)
