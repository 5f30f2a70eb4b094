"""The synthetic sample county: determinism, schema, integrity, the promised qualities, and writing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plugins.committee import HONOR_KINDS, HONOR_LEVELS
from plugins.members import (
    APPRAISAL_GRADES,
    MEMBER_ROLES,
    MEMBER_STATUS,
    RECRUITMENT_STAGES,
)
from plugins.organization import MEETING_KINDS
from plugins.performance import INCIDENT_KINDS
from scoring.commands.sample import main_sample
from scoring.dataset import DTYPES
from scoring.registry import make_registry
from scoring.sample import generate_county, write_dataset

BUILTIN_TABLES = tuple(make_registry().tables.values())  # the plugins' tables in registration order
from plugins.sample_county import builtin_table_map
from scoring.tables import CATEGORIES

YEAR = 2025
YEAR_END = pd.Timestamp(f"{YEAR}-12-31")
SPECS = builtin_table_map()


@pytest.fixture(scope="module")
def county():
    return generate_county(320, seed=2025, year=YEAR)


@pytest.fixture(scope="module")
def small():
    return generate_county(40, seed=7, year=YEAR)


def _this_year(df: pd.DataFrame, col: str = "date") -> pd.DataFrame:
    return df[df[col].dt.year == YEAR]


# ------------------------------------------------------------------ determinism and schema


def test_same_arguments_give_identical_frames(small):
    again = generate_county(40, seed=7, year=YEAR)
    assert list(again) == list(small)
    for tid in small:
        pd.testing.assert_frame_equal(small[tid], again[tid], check_exact=True)


def test_other_seed_gives_other_data(small):
    other = generate_county(40, seed=8, year=YEAR)
    assert not other["members"]["name"].equals(small["members"]["name"])


@pytest.mark.parametrize("n", [1, 3, 7, 19])
def test_tiny_counties_work(n):
    tables = generate_county(n, seed=1, year=2024)
    assert len(tables["branches"]) == n
    assert tables["members"]["branch_id"].isin(tables["branches"]["branch_id"]).all()


def test_every_table_and_column_with_dataset_dtypes(county):
    assert list(county) == [t.id for t in BUILTIN_TABLES]
    for spec in BUILTIN_TABLES:
        df = county[spec.id]
        assert list(df.columns) == list(spec.column_ids), spec.id
        assert len(df) > 0, spec.id
        for col in spec.columns:
            s = df[col.id]
            assert str(s.dtype) == DTYPES[col.dtype], (spec.id, col.id, s.dtype)
            if DTYPES[col.dtype] == "object":
                values = s.dropna()
                assert all(type(v) is str and v != "" for v in values), (spec.id, col.id)
                assert s.isna().eq(s.map(lambda v: v is None)).all(), (spec.id, col.id)  # empty is None
            if col.required:
                assert s.notna().all(), (spec.id, col.id)


def test_enum_values_and_formats(county):
    enums = {("branches", "category"): CATEGORIES, ("members", "status"): MEMBER_STATUS,
             ("members", "role"): MEMBER_ROLES, ("members", "gender"): ("男", "女"),
             ("meetings", "kind"): MEETING_KINDS, ("recruitment", "stage"): RECRUITMENT_STAGES,
             ("appraisals", "grade"): APPRAISAL_GRADES, ("honors", "kind"): HONOR_KINDS,
             ("honors", "level"): HONOR_LEVELS, ("incidents", "kind"): INCIDENT_KINDS}
    for (tid, cid), allowed in enums.items():
        assert set(county[tid][cid].dropna()) <= set(allowed), (tid, cid)
        assert SPECS[tid].column(cid).values in ((), allowed)
    months = county["dues"]["month"]
    assert months.str.fullmatch(rf"{YEAR}-(0[1-9]|1[0-2])").all()
    assert county["branches"]["branch_id"].str.fullmatch(r"X[ZJ]\d{2}-\d{3}").all()
    assert county["members"]["member_id"].str.fullmatch(r"X[ZJ]\d{2}-\d{3}-\d{2}").all()


def test_keys_are_unique(county):
    for spec in BUILTIN_TABLES:
        if spec.key:
            assert not county[spec.id].duplicated(list(spec.key)).any(), spec.id


def test_referential_integrity(county):
    branches = set(county["branches"]["branch_id"])
    members = county["members"].set_index("member_id")["branch_id"]
    for spec in BUILTIN_TABLES:
        df = county[spec.id]
        if "branch_id" in df.columns:
            assert df["branch_id"].isin(branches).all(), spec.id
        if "member_id" in df.columns and spec.id != "members":
            assert df["member_id"].isin(members.index).all(), spec.id
            # the member belongs to the branch named on the row
            assert (members.reindex(df["member_id"]).to_numpy() == df["branch_id"].to_numpy()).all(), spec.id


# ------------------------------------------------------------------ the county's shape


def test_categories_townships_and_names(county, small):
    b = county["branches"]
    assert set(small["branches"]["category"]) == set(CATEGORIES)
    shares = b["category"].value_counts(normalize=True)
    assert shares.idxmax() == "农村" and 0.5 <= shares["农村"] <= 0.7
    assert 0.08 <= shares["社区"] <= 0.16 and 0.06 <= shares["机关"] <= 0.14
    townships = b["parent"][b["parent"].str.contains("镇党委|乡党委|街道党工委")]
    assert townships.nunique() >= 12
    assert b["branch_id"].is_unique and b["name"].is_unique
    assert b["name"].str.endswith("党支部").all()
    rural = b[b["category"] == "农村"]
    assert rural["name"].str.contains("村").all()
    assert (rural["name"].str[:3] == rural["parent"].str[:3]).all()  # a village is named after its township
    assert b.loc[b["category"] == "社区", "name"].str.contains("社区").all()


def test_members_roles_and_ages(county):
    b = county["branches"].set_index("branch_id")
    m = county["members"]
    size = m.groupby("branch_id").size()
    assert 27 <= size.mean() <= 33 and size.min() >= 8 and size.max() <= 50
    roles = m.groupby("branch_id")["role"]
    assert (roles.apply(lambda r: (r == "书记").sum()) == 1).all()
    committee = m[m["role"] != "党员"].groupby("branch_id").size()
    assert (committee.reindex(b.index).to_numpy() == b["committee_size"].to_numpy()).all()
    secretary = m[m["role"] == "书记"].set_index("branch_id")["name"]
    assert (secretary.reindex(b.index) == b["secretary"]).all()
    age = (YEAR_END - m["birth_date"]).dt.days / 365.25
    assert age.between(18, 100).all()
    assert (m["join_date"] > m["birth_date"] + pd.Timedelta(days=18 * 365)).all()
    assert (m["join_date"] <= YEAR_END).all()
    mean_age = age.groupby(m["branch_id"]).mean()
    assert (mean_age >= 60).any()  # aging villages
    by_cat = age.groupby(m["branch_id"].map(b["category"])).mean()
    assert by_cat["农村"] > by_cat["机关"] + 5
    assert 0.03 <= (m["status"] == "预备").mean() <= 0.07


def test_mobile_members_and_contacts(county):
    m = county["members"]
    b = county["branches"].set_index("branch_id")
    assert 0.05 <= m["is_mobile"].mean() <= 0.11
    by_cat = m["is_mobile"].astype(bool).groupby(m["branch_id"].map(b["category"])).mean()
    assert by_cat["农村"] == by_cat.max()
    mob = m[m["is_mobile"]]
    assert m.loc[~m["is_mobile"], "last_contact"].isna().all()
    days = (YEAR_END - mob["last_contact"]).dt.days
    assert (days <= 183).mean() > 0.7
    assert (days > 183).any() and days.isna().any()


def test_meetings(county):
    mt = county["meetings"]
    b = county["branches"].set_index("branch_id")
    assert (mt["date"].dt.year == YEAR - 1).sum() >= 3  # records of the previous year to be ignored
    cur = _this_year(mt)
    counts = cur.groupby(["branch_id", "kind"]).size().unstack(fill_value=0)
    medians = counts.median()
    assert medians["支部党员大会"] == 4 and medians["党课"] == 4
    assert medians["支委会"] == 12 and medians["党小组会"] == 12 and medians["主题党日"] == 12
    assert medians["组织生活会"] == 1 and medians["民主评议党员"] == 1
    assert (counts["支委会"] < 12).sum() > 20  # some branches miss meetings
    assert (cur["attended"] <= cur["expected"]).all() and (cur["attended"] >= 0).all()
    committee = cur[cur["kind"] == "支委会"]
    assert (committee["expected"].to_numpy() == b.loc[committee["branch_id"], "committee_size"].to_numpy()).all()
    size = county["members"].groupby("branch_id").size()
    big = cur[cur["kind"] == "支部党员大会"]
    assert (big["expected"].to_numpy() <= size.reindex(big["branch_id"]).to_numpy()).all()
    rate = cur["attended"].sum() / cur["expected"].sum()
    assert 0.75 <= rate <= 0.95


def test_dues(county):
    d = county["dues"]
    m = county["members"].set_index("member_id")
    assert len(d) >= 11 * len(m)
    per_member = d.groupby("member_id").size()
    joined_before = m["join_date"] < pd.Timestamp(f"{YEAR}-01-01")
    assert (per_member.reindex(m.index[joined_before]) == 12).all()
    assert (d["due"] > 0).all() and (d["paid"] >= 0).all() and (d["paid"] <= d["due"]).all()
    unpaid = d["paid"] == 0
    assert d.loc[unpaid, "paid_date"].isna().all() and d.loc[~unpaid, "paid_date"].notna().all()
    assert 0.005 <= unpaid.mean() <= 0.06
    paid_month = d["paid_date"].dt.strftime("%Y-%m")
    late = ~unpaid & (paid_month > d["month"])
    assert 0.005 <= late.mean() <= 0.1
    assert (paid_month[~unpaid] >= d.loc[~unpaid, "month"]).all()  # nobody pays before the month
    # a few members with 6+ consecutive unpaid months
    d = d.sort_values(["member_id", "month"])
    run = unpaid.groupby((~unpaid).cumsum()).cumsum()
    longest = run.groupby(d["member_id"]).max()
    assert 3 <= (longest >= 6).sum() <= 60


def test_recruitment_matches_members(county):
    r = county["recruitment"]
    m = county["members"]
    b = county["branches"]
    admitted = r[r["stage"] == "预备党员"]
    years = YEAR - admitted.groupby("branch_id")["date"].max().dt.year.reindex(b["branch_id"])
    assert (years <= 1).mean() > 0.7  # most admitted a 预备党员 in the last two years
    assert ((years >= 3) | years.isna()).sum() >= 5  # some not for 3+ years or never
    assert years.isna().any()
    pending = m[m["status"] == "预备"]
    joined = pending.merge(admitted, left_on=["branch_id", "name", "join_date"],
                           right_on=["branch_id", "person", "date"])
    assert len(joined) == len(pending)
    latest = r.sort_values(["date", "stage"]).groupby(["branch_id", "person"])["stage"].last()
    with_activist = latest[latest == "入党积极分子"].index.get_level_values(0).unique()
    assert len(with_activist) / len(b) > 0.6
    order = {s: i for i, s in enumerate(RECRUITMENT_STAGES)}
    steps = r.assign(o=r["stage"].map(order)).sort_values(["branch_id", "person", "o"])
    assert steps.groupby(["branch_id", "person"])["date"].apply(lambda s: s.is_monotonic_increasing).all()


def test_training_hours(county):
    t = county["training"]
    m = county["members"]
    assert (t["hours"] > 0).all()
    hours = t.groupby("member_id")["hours"].sum().reindex(m["member_id"]).fillna(0).to_numpy()
    is_committee = (m["role"] != "党员").to_numpy()
    assert np.median(hours[~is_committee]) >= 32
    assert np.median(hours[is_committee]) >= 56
    branch_avg = pd.Series(hours[~is_committee]).groupby(m["branch_id"].to_numpy()[~is_committee]).mean()
    assert (branch_avg < 24).sum() > 10  # weaker branches fall short


def test_appraisals(county):
    a = county["appraisals"]
    m = county["members"].set_index("member_id")
    assert (m.loc[a["member_id"], "status"] == "正式").all()
    grades = a["grade"].value_counts(normalize=True)
    assert grades.idxmax() == "合格" and 0.1 <= grades["优秀"] <= 0.3
    assert 0 < grades["基本合格"] < 0.03 and 0 < grades["不合格"] < 0.01
    excellent = (a["grade"] == "优秀").groupby(a["branch_id"]).mean()
    assert 1 <= (excellent > 1 / 3).sum() <= 20
    full = m[m["status"] == "正式"].groupby("branch_id").size()
    coverage = (a.groupby("branch_id").size() / full).reindex(full.index).fillna(0)
    assert (coverage >= 1).mean() > 0.8 and (coverage < 0.95).sum() >= 5


def test_economy_bands(county):
    e = county["economy"]
    b = county["branches"].set_index("branch_id")
    assert (b.loc[e["branch_id"], "category"] == "农村").all()
    assert len(e) == (b["category"] == "农村").sum()
    income = e["operating_income"]
    assert (income == 0).any() and income.between(0, 5, inclusive="neither").any()
    assert income.between(5, 10, inclusive="left").any() and income.between(10, 20, inclusive="left").any()
    assert (income >= 20).any() and (income >= 0).all()
    total = e["total_income"].dropna()
    assert (total >= income[total.index]).all()


def test_surveys(county):
    s = county["surveys"]
    assert len(s) == len(county["branches"])
    assert s["respondents"].between(30, 80).all()
    assert (s["satisfied"] + s["basic"] + s["dissatisfied"] == s["respondents"]).all()
    assert (s[["satisfied", "basic", "dissatisfied"]] >= 0).all().all()
    rate = (s["satisfied"] + s["basic"]) / s["respondents"]
    assert (rate >= 0.85).mean() > 0.6
    assert rate.between(0.6, 0.85, inclusive="left").sum() >= 10
    assert 1 <= (rate < 0.6).sum() <= 3


def test_honors(county):
    h = county["honors"]
    n = len(county["branches"])
    assert 0.15 <= h["branch_id"].nunique() / n <= 0.35
    assert h.groupby("branch_id").size().max() <= 4
    assert (h.groupby(["branch_id", "title"])["level"].nunique() > 1).any()  # same work at two levels
    assert h["document"].isna().any() and (~h["approved"]).any()
    assert h["level"].value_counts().get("国家级", 0) <= 5 and set(h["level"]) >= {"省级", "市级", "县级", "乡镇级"}
    assert (h["date"].dt.year == YEAR).all()


def test_incidents(county):
    i = _this_year(county["incidents"])
    kinds = i["kind"].value_counts()
    for kind in ("严重违纪违法", "群体性事件", "重大安全事故"):
        assert kinds.get(kind, 0) >= 1, kind
    assert 2 <= kinds.get("纪律处分", 0) <= 30
    assert kinds.get("越级上访", 0) >= 1
    assert i["branch_id"].nunique() < 0.15 * len(county["branches"])
    assert (county["incidents"]["date"].dt.year == YEAR - 1).any()
    assert i["note"].notna().all()


def test_inspections_and_rectifications(county):
    ins = county["inspections"]
    per = ins.groupby("branch_id").size()
    assert len(per) == len(county["branches"])
    assert ins["score"].between(0, 2).all() and (ins["item_max"] == 2).all()
    # the sheet totals what five_star gives 现场检查 per category (6 农村, 12 社区 and 两新, 10 机关/国企/学校);
    # 8% of the branches miss one of the three common items
    category = county["branches"].set_index("branch_id")["category"]
    sheet = ins.groupby("branch_id")["item_max"].sum()
    full = category.map({"农村": 6, "社区": 12, "非公企业": 12, "社会组织": 12, "机关": 10, "国有企业": 10, "学校": 10})
    assert (sheet.reindex(full.index).isin([6, 4]) | (category != "农村")).all()
    assert ((full - sheet.reindex(full.index)).isin([0, 2])).all() and (sheet.reindex(full.index) == full).mean() > 0.85
    assert sheet.groupby(category).max().to_dict() == full.groupby(category).max().to_dict()
    rural = ins[ins["branch_id"].map(category) == "农村"]
    total = rural.groupby("branch_id")["score"].sum()
    assert 4 <= total.median() <= 6 and (total < 4).any()
    r = county["rectifications"]
    assert r.groupby("branch_id").size().max() <= 4
    assert (r["due_date"].dt.year == YEAR).all()
    closed = r["closed_date"]
    on_time = closed.notna() & (closed <= r["due_date"])
    assert on_time.mean() > 0.7
    assert (closed > r["due_date"]).any() and closed.isna().any()
    assert (closed.dropna() <= YEAR_END).all()


def test_elections_and_self_scores(county):
    b = county["branches"]
    expected_term = np.where(b["category"].isin(["农村", "社区"]), 5, 3)
    assert (b["term_years"].to_numpy() == expected_term).all()
    term_end = pd.Series([d + pd.DateOffset(years=int(t)) for d, t in zip(b["last_election"], b["term_years"])])
    overdue_days = (YEAR_END - term_end).dt.days
    assert 0.03 <= (overdue_days > 0).mean() <= 0.14
    assert (overdue_days > 365).sum() >= 2
    assert (b["last_election"] <= YEAR_END).all()
    filled = b["self_score"].notna()
    assert 0.6 <= filled.mean() <= 0.8
    assert b.loc[filled, "self_score"].between(80, 98).all()


def test_profiles_spread_in_the_records(county):
    """Branches are not uniform: the best and worst differ on several tables at once."""
    s = county["surveys"].set_index("branch_id")
    rate = (s["satisfied"] + s["basic"]) / s["respondents"]
    mt = _this_year(county["meetings"])
    committee_meetings = mt[mt["kind"] == "支委会"].groupby("branch_id").size().reindex(rate.index).fillna(0)
    assert committee_meetings[rate < 0.6].mean() < committee_meetings[rate >= 0.95].mean()


# ------------------------------------------------------------------ writing


def test_xlsx_round_trip(small, tmp_path):
    path = tmp_path / "county.xlsx"
    assert write_dataset(small, path, "xlsx") == [path]
    assert not [p for p in tmp_path.iterdir() if p.name != "county.xlsx"]  # no temporary file left
    sheets = pd.read_excel(path, engine="calamine", sheet_name=None)
    assert list(sheets) == [t.sheet for t in BUILTIN_TABLES]
    for spec in BUILTIN_TABLES:
        df = sheets[spec.sheet]
        assert list(df.columns) == [c.header for c in spec.columns], spec.id
        assert len(df) == len(small[spec.id]), spec.id
    members = sheets["党员名册"]
    assert pd.api.types.is_datetime64_any_dtype(members["出生日期"])
    assert (members["出生日期"].to_numpy() == small["members"]["birth_date"].to_numpy()).all()
    assert set(members["流动党员"]) == {"是", "否"}
    assert members["最近联系日期"].isna().sum() == small["members"]["last_contact"].isna().sum()
    dues = sheets["党费交纳"]
    assert (dues["实交金额"].to_numpy() == small["dues"]["paid"].to_numpy()).all()
    assert (dues["月份"] == small["dues"]["month"]).all()


def test_xlsx_layout_subset_and_extra_tables(small, tmp_path):
    import openpyxl

    path = tmp_path / "part.xlsx"
    extra = pd.DataFrame({"branch_id": ["XZ01-001"], "points": [1.5], "when": [pd.Timestamp("2025-03-01")]})
    write_dataset({"local_extra": extra, "dues": small["dues"].head(30), "branches": small["branches"]}, path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["支部信息", "党费交纳", "local_extra"]  # spec order first, then other tables
    ws = wb["党费交纳"]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.b and ws["A1"].value == "党员编号"
    assert ws["F2"].number_format == "yyyy-mm-dd"
    assert ws.column_dimensions["A"].width >= 10
    assert ws.max_row == 31
    assert wb["支部信息"]["I1"].value == "自评分"
    assert [c.value for c in wb["local_extra"][1]] == ["branch_id", "points", "when"]
    assert wb["local_extra"]["C2"].is_date


def test_parquet_round_trip(small, tmp_path):
    paths = write_dataset(small, tmp_path / "pq", "parquet")
    assert [p.name for p in paths] == [f"{t.id}.parquet" for t in BUILTIN_TABLES]
    for spec in BUILTIN_TABLES:
        back = pd.read_parquet(tmp_path / "pq" / f"{spec.id}.parquet")
        orig = small[spec.id]
        assert list(back.columns) == list(spec.column_ids)
        for col in spec.columns:
            if DTYPES[col.dtype] == "object":
                back[col.id] = back[col.id].astype(object).where(back[col.id].notna(), None)
            else:
                back[col.id] = back[col.id].astype(orig[col.id].dtype)
        pd.testing.assert_frame_equal(back, orig, check_exact=True)


def test_csv_files(small, tmp_path):
    paths = write_dataset(small, tmp_path / "csv", "csv")
    assert [p.name for p in paths] == [f"{t.id}.csv" for t in BUILTIN_TABLES]
    raw = (tmp_path / "csv" / "members.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(tmp_path / "csv" / "members.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(back.columns) == list(SPECS["members"].column_ids)
    assert back["birth_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(back["is_mobile"]) == {"是", "否"}
    assert len(back) == len(small["members"])


def test_main_sample_writes_into_a_new_directory(tmp_path):
    out = tmp_path / "a" / "b"
    paths = main_sample(20, out, "xlsx", seed=3, year=2024)
    assert paths == [out / "county_2024.xlsx"] and paths[0].is_file()
    paths = main_sample(20, out, "csv", seed=3, year=2024)
    assert len(paths) == len(BUILTIN_TABLES) and all(p.parent == out for p in paths)


def test_main_sample_rejects_bad_arguments(tmp_path):
    from scoring.errors import UsageError

    with pytest.raises(UsageError):
        main_sample(20, tmp_path, "json", seed=1, year=2025)
    with pytest.raises(UsageError):
        main_sample(0, tmp_path, "xlsx", seed=1, year=2025)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError):
        main_sample(20, tmp_path / "file", "xlsx", seed=1, year=2025)


def test_failed_write_leaves_no_partial_file(small, tmp_path, monkeypatch):
    import scoring.sample as sample

    path = tmp_path / "county.xlsx"
    path.write_bytes(b"previous")

    def broken(tables, specs, target):
        with open(target, "wb") as fh:
            fh.write(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(sample, "_write_xlsx", broken)
    with pytest.raises(RuntimeError):
        write_dataset(small, path, "xlsx")
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["county.xlsx"]


def test_long_tables_continue_on_further_sheets_and_read_back_whole(tmp_path, monkeypatch):
    import scoring.sample as sample
    from plugins.sample_county import builtin_table_map
    from scoring.reader import read_dataset

    monkeypatch.setattr(sample, "_MAX_SHEET_ROWS", 1000)  # Excel's limit, scaled down
    tables = sample.generate_county(12, seed=3)
    path = tmp_path / "c.xlsx"
    sample.write_dataset(tables, path, "xlsx")
    import openpyxl

    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    n_dues = len(tables["dues"])
    assert n_dues > 2000 and "党费交纳2" in names and "党费交纳3" in names
    data = read_dataset([path], builtin_table_map(), ["dues"])
    assert len(data.tables["dues"]) == n_dues
