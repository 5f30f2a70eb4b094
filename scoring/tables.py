"""Input tables: the spec of a table (sheet) and of its columns, and the one table the core owns.

The core owns only ``branches`` (支部信息: the unit being scored, with its category, township and self-score,
which the evaluator and every writer read). Every other table is declared by the plugin that measures it,
through the ``scoring_tables`` hook, with these same dataclasses (the built-in plugins in ``plugins/`` do
so too); the registry collects them, and the reader, the validator, the sample writer and the template
read the collected specs.

Column ``dtype`` values:
    "str"    text, stripped
    "int"    whole number
    "float"  number
    "date"   calendar date (pandas datetime64, day precision)
    "month"  a month as text "YYYY-MM"
    "bool"   是/否 (also accepts true/false, 1/0, √/×, Y/N)
    "enum"   text restricted to ``values``

Plausibility, checked by the reader after conversion (each violation a located data error with the value):
    ``Column.min`` / ``Column.max``   bounds of a number (a negative count, 500 学时 in one session)
    ``Column.not_after_year``         a date that cannot lie after the end of the assessment year
                                      (上次换届 in 2035); every date before 1900 is refused anyway
    ``Table.checks``                  rules across the columns of one record (:class:`RowCheck`):
                                      实到 <= 应到, 满意 + 基本满意 + 不满意 <= 测评人数
The template's 填表说明 states them next to each column (:func:`column_help`).
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("农村", "社区", "机关", "国有企业", "非公企业", "学校", "社会组织")

@dataclass(frozen=True)
class Column:
    id: str
    header: str  # Chinese header shown in sheets and templates
    dtype: str
    required: bool = True  # a required column must exist and have no empty cell
    values: tuple[str, ...] = ()  # allowed values for dtype "enum"
    help: str = ""  # one sentence for the template's 填表说明
    example: object = None  # example value for the template
    min: float | None = None  # smallest plausible value of an "int"/"float" column
    max: float | None = None  # largest plausible value
    not_after_year: bool = False  # a "date" that cannot be after 31 December of the assessment year


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str
    target: str


_OP_WORDS = {"<=": ("不超过", "不晚于"), "<": ("小于", "早于"), ">=": ("不小于", "不早于"), ">": ("大于", "晚于")}


@dataclass(frozen=True)
class RowCheck:
    """A rule across the columns of one record: the sum of ``left`` ``op`` the sum of ``right`` (one column
    each side for dates). Records where any of the columns is empty are not checked. A violation is
    reported at ``column`` (default: the last of ``left``), the cell the user most likely has to fix."""

    left: tuple[str, ...]
    op: str  # "<=", "<", ">=", ">"
    right: tuple[str, ...]
    column: str | None = None

    @property
    def at(self) -> str:
        return self.column or self.left[-1]

    def describe(self, table: Table) -> str:
        """The rule in words for the template: 满意+基本满意+不满意合计不超过测评人数."""
        dates = table.column(self.left[0]).dtype == "date"
        word = _OP_WORDS[self.op][1 if dates else 0]
        lhs = "+".join(table.column(c).header for c in self.left) + ("合计" if len(self.left) > 1 else "")
        rhs = "+".join(table.column(c).header for c in self.right)
        return f"{lhs}{word}{rhs}"


@dataclass(frozen=True)
class Table:
    id: str
    sheet: str  # Chinese sheet name
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # unique key columns (duplicates are reported)
    foreign_keys: tuple[ForeignKey, ...] = ()
    help: str = ""
    grain: str = ""
    # who fills the table: "branch" (each branch, in its own workbook) or "committee" (考评委员会: surveys,
    # inspections, approved honors, incidents); the template colours committee sheets and says so, and a
    # branch's self-check treats an empty committee table as not yet decided
    filled_by: str = "branch"
    # the column whose dates (or YYYY-MM months) place a record in an assessment year, for tables whose
    # records belong to one year (meetings, dues, training): a table with records but none in the year is
    # a data error (the wrong year's data, or the wrong --year), a branch without any is noted
    year_column: str | None = None
    checks: tuple[RowCheck, ...] = ()  # plausibility across the columns of one record

    @property
    def committee(self) -> bool:
        return self.filled_by == "committee"

    def column(self, cid: str) -> Column:
        for c in self.columns:
            if c.id == cid:
                return c
        raise KeyError(cid)

    @property
    def column_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.columns)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def rules_text(col: Column, table: Table | None = None) -> str:
    """What the reader checks about a column's values beyond its type, in words for the 填表说明: its
    bounds, the latest date it may have, and the rules across columns reported at it."""
    parts = []
    if col.min is not None and col.max is not None:
        parts.append(f"取值{_num(col.min)}～{_num(col.max)}")
    elif col.min is not None:
        parts.append(f"不小于{_num(col.min)}")
    elif col.max is not None:
        parts.append(f"不大于{_num(col.max)}")
    if col.not_after_year:
        parts.append("不晚于考核年度末")
    if table is not None:
        parts += [c.describe(table) for c in table.checks if c.at == col.id]
    return "；".join(parts)


def column_help(col: Column, table: Table | None = None) -> str:
    """The column's help sentence followed by its rules (:func:`rules_text`)."""
    rules = rules_text(col, table)
    if not rules:
        return col.help
    return f"{col.help.rstrip('。；')}；{rules}" if col.help else rules


BRANCH_KEY = ForeignKey("branch_id", "branches", "branch_id")
BRANCH_COLUMN = Column("branch_id", "支部编码", "str", help="与支部信息表中的支部编码一致", example="XZ01-001")

BRANCHES = Table(
        "branches", "支部信息",
        (
            Column("branch_id", "支部编码", "str", help="每个支部唯一的编码", example="XZ01-001"),
            Column("name", "支部名称", "str", help="支部全称", example="示例镇东岗村党支部"),
            Column("category", "类别", "enum", values=CATEGORIES, help="支部类别", example="农村"),
            Column("parent", "上级党组织", "str", help="所属乡镇（街道）党委", example="示例镇党委"),
            Column("secretary", "书记", "str", required=False, help="支部书记姓名", example="张三"),
            Column("committee_size", "支委人数", "int", required=False, help="支委会委员人数", example=5,
                   min=0, max=15),
            Column("last_election", "上次换届日期", "date", help="最近一次换届选举的日期", example="2021-05-20",
                   not_after_year=True),
            Column("term_years", "任期(年)", "int", required=False,
                   help="支委会每届任期；空白时农村、社区按5年，其他按3年", example=5, min=1, max=10),
            Column("self_score", "自评分", "float", required=False, help="支部自评总分（可空）", example=92,
                   min=0, max=1000),
        ),
        key=("branch_id",), grain="每个支部一行", help="全部参评支部的基本信息",
    )

CORE_TABLES: tuple[Table, ...] = (BRANCHES,)
