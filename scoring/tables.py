"""The input tables the engine knows: one spec per table (sheet), one spec per column.

This module is the single source of truth for table names, Chinese headers, types, enumerations,
keys and foreign keys. The reader, the validator, the sample generator and the template writer all
read it. Plugins may add tables through the ``scoring_tables`` hook with the same dataclasses.

Column ``dtype`` values:
    "str"    text, stripped
    "int"    whole number
    "float"  number
    "date"   calendar date (pandas datetime64, day precision)
    "month"  a month as text "YYYY-MM"
    "bool"   是/否 (also accepts true/false, 1/0, √/×, Y/N)
    "enum"   text restricted to ``values``
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("农村", "社区", "机关", "国有企业", "非公企业", "学校", "社会组织")
MEETING_KINDS = ("支部党员大会", "支委会", "党小组会", "党课", "主题党日", "组织生活会", "民主评议党员")
MEMBER_STATUS = ("正式", "预备")
MEMBER_ROLES = ("书记", "副书记", "委员", "党员")
RECRUITMENT_STAGES = ("入党申请人", "入党积极分子", "发展对象", "预备党员", "正式党员")
APPRAISAL_GRADES = ("优秀", "合格", "基本合格", "不合格")
HONOR_KINDS = ("表彰", "创新项目", "经验推广", "领导批示")
HONOR_LEVELS = ("国家级", "省级", "市级", "县级", "乡镇级")
INCIDENT_KINDS = ("严重违纪违法", "群体性事件", "重大安全事故", "越级上访", "纪律处分")
GENDERS = ("男", "女")


@dataclass(frozen=True)
class Column:
    id: str
    header: str  # Chinese header shown in sheets and templates
    dtype: str
    required: bool = True  # a required column must exist and have no empty cell
    values: tuple[str, ...] = ()  # allowed values for dtype "enum"
    help: str = ""  # one sentence for the template's 填表说明
    example: object = None  # example value for the template


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str
    target: str


@dataclass(frozen=True)
class Table:
    id: str
    sheet: str  # Chinese sheet name
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # unique key columns (duplicates are reported)
    foreign_keys: tuple[ForeignKey, ...] = ()
    help: str = ""
    grain: str = ""

    def column(self, cid: str) -> Column:
        for c in self.columns:
            if c.id == cid:
                return c
        raise KeyError(cid)

    @property
    def column_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.columns)


_B = ForeignKey("branch_id", "branches", "branch_id")
_M = ForeignKey("member_id", "members", "member_id")
_BRANCH_COL = Column("branch_id", "支部编码", "str", help="与支部信息表中的支部编码一致", example="XZ01-001")
_MEMBER_COL = Column("member_id", "党员编号", "str", help="与党员名册中的党员编号一致", example="XZ01-001-01")

BUILTIN_TABLES: tuple[Table, ...] = (
    Table(
        "branches", "支部信息",
        (
            Column("branch_id", "支部编码", "str", help="每个支部唯一的编码", example="XZ01-001"),
            Column("name", "支部名称", "str", help="支部全称", example="示例镇东岗村党支部"),
            Column("category", "类别", "enum", values=CATEGORIES, help="支部类别", example="农村"),
            Column("parent", "上级党组织", "str", help="所属乡镇（街道）党委", example="示例镇党委"),
            Column("secretary", "书记", "str", required=False, help="支部书记姓名", example="张三"),
            Column("committee_size", "支委人数", "int", required=False, help="支委会委员人数", example=5),
            Column("last_election", "上次换届日期", "date", help="最近一次换届选举的日期", example="2021-05-20"),
            Column("term_years", "任期(年)", "int", required=False,
                   help="支委会每届任期；空白时农村、社区按5年，其他按3年", example=5),
            Column("self_score", "自评分", "float", required=False, help="支部自评总分（可空）", example=92),
        ),
        key=("branch_id",), grain="每个支部一行", help="全部参评支部的基本信息",
    ),
    Table(
        "members", "党员名册",
        (
            Column("member_id", "党员编号", "str", help="每名党员唯一的编号", example="XZ01-001-01"),
            _BRANCH_COL,
            Column("name", "姓名", "str", example="李四"),
            Column("gender", "性别", "enum", required=False, values=GENDERS, example="男"),
            Column("birth_date", "出生日期", "date", required=False, example="1970-03-01"),
            Column("join_date", "入党日期", "date", required=False, help="接收为预备党员的日期", example="1995-07-01"),
            Column("status", "党员类别", "enum", values=MEMBER_STATUS, help="正式党员或预备党员", example="正式"),
            Column("role", "支部职务", "enum", required=False, values=MEMBER_ROLES,
                   help="书记、副书记、委员或党员；空白按党员", example="党员"),
            Column("education", "学历", "str", required=False, example="高中"),
            Column("is_mobile", "流动党员", "bool", required=False, help="是/否", example="否"),
            Column("last_contact", "最近联系日期", "date", required=False,
                   help="流动党员最近一次与支部联系的日期", example=""),
        ),
        key=("member_id",), foreign_keys=(_B,), grain="每名党员一行", help="支部全体党员",
    ),
    Table(
        "meetings", "组织生活记录",
        (
            _BRANCH_COL,
            Column("date", "日期", "date", example="2025-01-15"),
            Column("kind", "类型", "enum", values=MEETING_KINDS, help="会议或活动类型", example="支委会"),
            Column("expected", "应到人数", "int", help="支委会填支委人数，其他会议填应参加的党员人数", example=5),
            Column("attended", "实到人数", "int", example=5),
            Column("topic", "主题", "str", required=False, example="学习传达上级会议精神"),
        ),
        foreign_keys=(_B,), grain="每次会议一行", help="三会一课、主题党日、组织生活会、民主评议党员的记录",
    ),
    Table(
        "dues", "党费交纳",
        (
            _MEMBER_COL, _BRANCH_COL,
            Column("month", "月份", "month", help="格式 YYYY-MM", example="2025-01"),
            Column("due", "应交金额", "float", example=10),
            Column("paid", "实交金额", "float", help="未交纳填0", example=10),
            Column("paid_date", "交纳日期", "date", required=False, help="未交纳留空", example="2025-01-10"),
        ),
        key=("member_id", "month"), foreign_keys=(_B, _M), grain="每名党员每月一行", help="党费按月交纳记录",
    ),
    Table(
        "recruitment", "发展党员",
        (
            _BRANCH_COL,
            Column("person", "姓名", "str", example="王五"),
            Column("stage", "阶段", "enum", values=RECRUITMENT_STAGES, example="入党积极分子"),
            Column("date", "日期", "date", help="进入该阶段的日期", example="2025-04-01"),
        ),
        foreign_keys=(_B,), grain="每人每个阶段一行", help="发展党员各阶段记录",
    ),
    Table(
        "training", "学习培训",
        (
            _MEMBER_COL, _BRANCH_COL,
            Column("date", "日期", "date", example="2025-03-10"),
            Column("hours", "学时", "float", example=4),
            Column("topic", "内容", "str", required=False, example="党章学习"),
        ),
        foreign_keys=(_B, _M), grain="每人每次培训一行", help="党员参加学习培训的学时",
    ),
    Table(
        "appraisals", "民主评议结果",
        (
            _MEMBER_COL, _BRANCH_COL,
            Column("grade", "评议等次", "enum", values=APPRAISAL_GRADES, example="合格"),
        ),
        key=("member_id",), foreign_keys=(_B, _M), grain="每名党员一行", help="本年度民主评议党员的结果",
    ),
    Table(
        "economy", "村集体经济",
        (
            _BRANCH_COL,
            Column("operating_income", "经营性收入(万元)", "float", example=12.5),
            Column("total_income", "总收入(万元)", "float", required=False, example=30),
        ),
        key=("branch_id",), foreign_keys=(_B,), grain="每个村一行", help="村集体经济收入（仅农村支部填写）",
    ),
    Table(
        "surveys", "群众满意度测评",
        (
            _BRANCH_COL,
            Column("respondents", "测评人数", "int", example=50),
            Column("satisfied", "满意", "int", example=40),
            Column("basic", "基本满意", "int", example=8),
            Column("dissatisfied", "不满意", "int", example=2),
        ),
        key=("branch_id",), foreign_keys=(_B,), grain="每个支部一行", help="群众满意度测评票数",
    ),
    Table(
        "honors", "表彰与创新",
        (
            _BRANCH_COL,
            Column("title", "名称", "str", help="表彰或创新项目的名称；同一项工作的不同级别请用相同名称",
                   example="先进基层党组织"),
            Column("kind", "类型", "enum", values=HONOR_KINDS, example="表彰"),
            Column("level", "级别", "enum", values=HONOR_LEVELS, example="县级"),
            Column("document", "文号", "str", required=False, help="表彰文件文号；无文号不计分",
                   example="示县发〔2025〕12号"),
            Column("date", "日期", "date", required=False, example="2025-06-30"),
            Column("approved", "审核通过", "bool", required=False,
                   help="考评委员会审核结果：是/否；空白视为未审核，不计分", example="是"),
        ),
        foreign_keys=(_B,), grain="每项申报一行", help="表彰、创新项目等加分申报",
    ),
    Table(
        "incidents", "负面事项",
        (
            _BRANCH_COL,
            Column("kind", "类型", "enum", values=INCIDENT_KINDS, example="纪律处分"),
            Column("date", "日期", "date", example="2025-08-01"),
            Column("note", "说明", "str", required=False, example=""),
        ),
        foreign_keys=(_B,), grain="每件事项一行", help="违纪违法、群体性事件、安全事故、越级上访、纪律处分",
    ),
    Table(
        "inspections", "现场检查评分",
        (
            _BRANCH_COL,
            Column("item", "检查项目", "str", example="阵地建设"),
            Column("score", "得分", "float", example=5.5),
            Column("reviewer", "评分人", "str", required=False, example="赵六"),
            Column("note", "备注", "str", required=False, example=""),
        ),
        foreign_keys=(_B,), grain="每个检查项目一行", help="考评委员会现场检查打分",
    ),
    Table(
        "rectifications", "整改台账",
        (
            _BRANCH_COL,
            Column("problem", "问题", "str", example="党费收缴不及时"),
            Column("due_date", "整改时限", "date", example="2025-06-30"),
            Column("closed_date", "销号日期", "date", required=False, help="尚未销号留空", example="2025-06-20"),
        ),
        foreign_keys=(_B,), grain="每个问题一行", help="上级反馈问题的整改销号情况",
    ),
)


def builtin_table_map() -> dict[str, Table]:
    return {t.id: t for t in BUILTIN_TABLES}
