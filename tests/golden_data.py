"""The hand-built three-branch county of the golden test, as canonical tables (English column ids)."""

from __future__ import annotations

import pandas as pd

from scoring.dataset import Dataset
from plugins.sample_county import builtin_table_map


def _meetings(branch, kind, n, expected, attended, start="2025-01-10"):
    dates = pd.date_range(start, periods=n, freq="20D")
    return pd.DataFrame({"branch_id": branch, "date": dates, "kind": kind, "expected": expected, "attended": attended})


def golden_tables() -> dict[str, pd.DataFrame]:
    branches = pd.DataFrame({
        "branch_id": ["A", "B", "C"],
        "name": ["东岗村党支部", "西岭村党支部", "幸福社区党支部"],
        "category": ["农村", "农村", "社区"],
        "parent": ["东岗镇党委", "东岗镇党委", "城关镇党委"],
        "last_election": pd.to_datetime(["2023-03-01", "2022-05-01", "2024-01-01"]),
        "self_score": [95.0, 85.0, None],
    })
    meetings = pd.concat([
        _meetings("A", "支委会", 12, 10, 9), _meetings("A", "党课", 3, 10, 9),
        # last year's meeting must be ignored
        pd.DataFrame({"branch_id": ["A"], "date": pd.to_datetime(["2024-12-31"]), "kind": ["党课"],
                      "expected": [10], "attended": [10]}),
        _meetings("B", "支委会", 9, 10, 10), _meetings("B", "党课", 4, 10, 10),
        _meetings("C", "支委会", 12, 20, 19), _meetings("C", "党课", 4, 20, 19),
    ], ignore_index=True)
    surveys = pd.DataFrame({"branch_id": ["A", "B", "C"], "respondents": [50, 50, 50],
                            "satisfied": [40, 40, 45], "basic": [8, 6, 5], "dissatisfied": [2, 4, 0]})
    economy = pd.DataFrame({"branch_id": ["A", "B"], "operating_income": [25.0, 8.0], "total_income": [40.0, 12.0]})
    honors = pd.DataFrame({
        "branch_id": ["A", "A", "B", "B"],
        "title": ["先进基层党组织", "先进基层党组织", "红色堡垒", "乡村振兴示范"],
        "kind": ["表彰", "表彰", "表彰", "创新项目"],
        "level": ["省级", "市级", "县级", "市级"],
        "document": ["省委发〔2025〕3号", "市委发〔2025〕8号", None, "市委组〔2025〕2号"],
        "date": pd.to_datetime(["2025-06-01", "2025-03-01", "2025-05-01", "2025-07-01"]),
        "approved": [True, True, True, False],
    })
    incidents = pd.DataFrame({"branch_id": ["C"], "kind": ["严重违纪违法"], "date": pd.to_datetime(["2025-08-01"]),
                              "note": ["支部书记严重违纪"]})
    return {"branches": branches, "meetings": meetings, "surveys": surveys, "economy": economy,
            "honors": honors, "incidents": incidents}


def golden_dataset() -> Dataset:
    return make_dataset(golden_tables())


def make_dataset(raw: dict[str, pd.DataFrame]) -> Dataset:
    """Type canonical tables as the reader would (dtypes of scoring.dataset)."""
    specs = builtin_table_map()
    tables = {}
    for tid, df in raw.items():
        spec = specs[tid]
        full = df.reindex(columns=[c.id for c in spec.columns])
        for c in spec.columns:
            if c.dtype == "int":
                full[c.id] = full[c.id].astype("Int64")
            elif c.dtype == "float":
                full[c.id] = full[c.id].astype(float)
            elif c.dtype == "bool":
                full[c.id] = full[c.id].astype("boolean")
            elif c.dtype == "date":
                full[c.id] = pd.to_datetime(full[c.id])
            else:
                full[c.id] = full[c.id].astype(object)
        tables[tid] = full
    return Dataset(tables=tables, specs=specs)
