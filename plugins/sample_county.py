"""The built-in sample county generator (示例县): every input table of the built-in plugins, plausible and
varied, for demos, tests and benchmarks; the ``scoring_sample`` hook (``scoring sample``,
:func:`scoring.sample.generate_county`).

``generate_county`` builds all built-in tables for ``n_branches`` branches of one assessment year. Each
branch draws one profile (about 10% model, 72% ordinary, 15% weak, 3% very weak) and a quality value, and
every table is driven by them: under the reference rubric model and ordinary branches land at about
75..100, weak ones at about 55..80, and the few very weak ones lower (they also trip vetoes). Every rule
of the reference rubric has branches on both sides of it (overdue 换届, 3+ years without a new 预备党员,
满意率 < 60%, vetoed incidents, honors at two levels for the same work, ...).

Parents: villages and communities belong to 14 townships (乡镇党委 / 街道党工委); organs, schools and
"两新" organisations partly to townships and partly to four county-level committees (县直机关工委,
县教育工委, 县国资委党委, 县委两新工委). Branch ids are ``XZnn-nnn`` under a township and ``XJnn-nnn``
under a county-level committee; member ids add ``-nn``.

Everything is vectorized over branches, members and rows (numpy/pandas); loops run only over fixed small
sets (categories, meeting kinds, tables). Only ``numpy.random.default_rng(seed)`` is used, so the same
arguments give identical frames.

Writing the tables (one workbook, or Parquet/CSV files) is :mod:`scoring.sample`'s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plugins import committee, dues, members, organization, performance
from plugins.committee import HONOR_LEVELS
from plugins.members import APPRAISAL_GRADES, MEMBER_ROLES, RECRUITMENT_STAGES
from plugins.organization import MEETING_KINDS
from plugins.performance import INCIDENT_KINDS
from scoring import hookimpl
from scoring.dataset import DTYPES
from scoring.tables import CATEGORIES, CORE_TABLES, Table

# the tables this generator fills: the core table, then the built-in plugins' in their registration order
TABLES: tuple[Table, ...] = (CORE_TABLES + organization.TABLES + members.TABLES + dues.TABLES + performance.TABLES
                             + committee.TABLES)
_SPECS = {t.id: t for t in TABLES}


def builtin_table_map() -> dict[str, Table]:
    return dict(_SPECS)

# ----------------------------------------------------------------------------------------------------
# Vocabulary (everything a user sees is Chinese)

COUNTY = "示例县"
TOWNSHIPS = (
    "城关镇", "东岗镇", "西河镇", "南山镇", "北坪镇", "柳林镇", "石桥镇",
    "龙泉镇", "桃源乡", "清水乡", "马家乡", "红旗乡", "新华街道", "和平街道",
)
# County-level party committees that lead the county's 机关, schools, state and "两新" enterprises.
COUNTY_PARENTS = ("县直机关工委", "县教育工委", "县国资委党委", "县委两新工委")
_TOWNSHIP_ABBR = tuple(t[:2] for t in TOWNSHIPS) + ("县直工委", "县教工委", "县国资党委", "县两新工委")
_N_TOWN = len(TOWNSHIPS)
_P_JIGUAN, _P_EDU, _P_SOE, _P_LIANGXIN = range(_N_TOWN, _N_TOWN + 4)

# category codes follow tables.CATEGORIES
_RURAL, _COMMUNITY, _ORGAN, _SOE, _PRIVATE, _SCHOOL, _SOCIAL = range(7)
_CATEGORY_SHARE = np.array([0.60, 0.12, 0.10, 0.04, 0.05, 0.06, 0.03])

# profiles: 0 model, 1 ordinary, 2 weak, 3 very weak
_MODEL, _ORDINARY, _WEAK, _VERY_WEAK = range(4)
_PROFILE_SHARE = np.array([0.10, 0.72, 0.15, 0.03])
_QUALITY_RANGE = np.array([[0.95, 1.00], [0.80, 0.97], [0.66, 0.82], [0.55, 0.70]])

_VILLAGE_A = tuple("柳杨石桃李王张马黄青红白金龙凤双三五高长")
_VILLAGE_B = tuple("河庄沟坪湾岭营堡寨屯坡山台桥湖园")
_COMMUNITY_STEMS = (
    "幸福", "和平", "建设", "人民", "文化", "光明", "新华", "团结", "胜利", "东风", "朝阳", "解放",
    "育才", "滨河", "花园", "锦绣", "金桥", "友谊", "振兴", "向阳", "阳光", "紫荆", "康乐", "安居",
    "龙山", "凤凰", "府前", "站前", "新城", "南苑", "北苑", "西关",
)
_COUNTY_ORGANS = (
    "县委办公室", "县政府办公室", "县委组织部", "县委宣传部", "县纪委监委机关", "县发展和改革局",
    "县财政局机关", "县教育局机关", "县民政局", "县人力资源和社会保障局", "县自然资源局",
    "县住房和城乡建设局", "县交通运输局", "县农业农村局", "县水利局", "县卫生健康局",
    "县市场监督管理局", "县统计局", "县审计局", "县司法局", "县文化和旅游局", "县应急管理局",
    "县医疗保障局", "县林业局", "县商务局", "县退役军人事务局", "县信访局", "县税务局机关",
)
_COUNTY_SCHOOLS = (
    "县第一中学", "县第二中学", "县第三中学", "县实验中学", "县职业中学", "县实验小学",
    "县第一小学", "县第二小学", "县特殊教育学校", "县第一幼儿园", "县教师进修学校",
)
_TOWNSHIP_SCHOOLS = ("中心小学", "初级中学", "中心幼儿园")
_SOES = (
    "城市建设投资集团有限公司", "水务集团有限公司", "国有资产经营有限公司", "交通投资有限公司",
    "农业发展投资有限公司", "文化旅游发展有限公司", "粮食储备有限公司", "公共交通有限公司",
    "燃气有限公司", "融资担保有限公司", "国有林场", "供排水有限公司",
)
_BRANDS = tuple("恒达 宏远 金泰 鑫源 瑞丰 华强 永盛 天成 绿源 昌隆 兴旺 德润 嘉禾 富民 康达 福瑞".split())
_INDUSTRIES = (
    "建材", "食品", "农业科技", "纺织", "物流", "机械制造", "电子", "商贸", "生物科技", "新能源",
    "建筑工程", "农牧",
)
_SOCIAL_ORGS = (
    "个体劳动者协会", "私营企业协会", "律师协会", "慈善总会", "养殖业协会", "物流行业协会",
    "餐饮行业协会", "建筑业协会", "志愿者协会", "社会工作服务中心", "老年人体育协会", "民办教育协会",
    "果业协会",
)
_CN_NUM = ("", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四",
           "十五", "十六", "十七", "十八", "十九", "二十")

_SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
)
_GIVEN_MALE = tuple("建国华明军伟强平志勇林峰斌海东波辉刚杰涛超鹏龙俊文德成庆永宏新春兴福荣生学忠瑞祥宇浩磊鑫凯晨博")
_GIVEN_FEMALE = tuple("秀英华玲芳丽敏静霞艳娟红梅兰燕萍琴云莲珍凤雪婷洁颖慧佳欣倩悦蕾琳晶春桂")
_REVIEWERS = ("张建国", "李红梅", "王志强", "刘晓燕", "陈国平")

_EDUCATION = ("小学", "初中", "高中", "中专", "大专", "大学本科", "研究生")
# rows: category * 2 + (0 older than 55, 1 younger)
_EDUCATION_P = np.array([
    [.25, .45, .20, .05, .04, .01, .00], [.02, .30, .30, .10, .18, .10, .00],  # 农村
    [.08, .30, .30, .10, .12, .10, .00], [.00, .05, .15, .10, .30, .38, .02],  # 社区
    [.00, .00, .05, .05, .30, .55, .05], [.00, .00, .00, .00, .10, .75, .15],  # 机关
    [.00, .05, .15, .15, .30, .33, .02], [.00, .00, .05, .05, .25, .55, .10],  # 国有企业
    [.00, .10, .30, .15, .25, .20, .00], [.00, .05, .15, .15, .30, .33, .02],  # 非公企业
    [.00, .00, .00, .05, .25, .65, .05], [.00, .00, .00, .00, .05, .75, .20],  # 学校
    [.00, .05, .20, .10, .30, .33, .02], [.00, .00, .05, .10, .30, .50, .05],  # 社会组织
])
# per category: mean member count, mean age of ordinary members, sd of age, share of men, share mobile
_SIZE_MEAN = np.array([34, 30, 24, 26, 14, 24, 11])
_AGE_MEAN = np.array([58, 55, 41, 42, 36, 40, 44])
_AGE_SD = np.array([13, 14, 9, 9, 8, 10, 11])
_AGE_MAX = np.array([93, 93, 60, 60, 60, 60, 75])
_MALE_SHARE = np.array([0.75, 0.55, 0.65, 0.70, 0.60, 0.45, 0.50])
_MOBILE_SHARE = np.array([0.12, 0.07, 0.01, 0.03, 0.03, 0.01, 0.03])

_MEETING_TARGET = {"支部党员大会": 4, "支委会": 12, "党小组会": 12, "党课": 4, "主题党日": 12,
                   "组织生活会": 1, "民主评议党员": 1}
_MEETING_TOPICS = {
    "支部党员大会": ("传达学习上级会议精神", "讨论接收预备党员", "审议支部年度工作计划", "通报支部工作和党费收缴情况",
                   "开展党员民主议事", "研究部署年度重点工作", "学习党章和党内法规"),
    "支委会": ("研究本月支部工作安排", "讨论发展党员工作", "研究党员教育管理工作", "研究党费收缴使用情况",
             "分析党员思想状况", "研究为民办实事项目", "研究整改落实工作", "部署主题党日活动"),
    "党小组会": ("组织党员集中学习", "交流学习体会", "开展谈心谈话", "讨论党员评议意见", "学习先进典型事迹",
               "收集群众意见建议"),
    "党课": ("书记讲党课：坚定理想信念", "学习习近平新时代中国特色社会主义思想", "党史专题党课", "党章党规专题党课",
           "廉洁自律专题党课", "作风建设专题党课"),
    "主题党日": ("重温入党誓词", "志愿服务进村入户", "参观红色教育基地", "集中学习党的创新理论", "党员政治生日活动",
               "环境卫生整治志愿服务", "走访慰问困难群众", "政策宣讲进网格"),
    "组织生活会": ("年度组织生活会：对照检查、批评与自我批评", "专题组织生活会：查摆问题、明确整改"),
    "民主评议党员": ("年度民主评议党员", "民主评议党员：个人自评、党员互评、民主测评"),
}
_TRAINING_TOPICS = ("党章党规学习", "习近平新时代中国特色社会主义思想专题学习", "党史学习教育", "廉洁教育专题培训",
                    "乡村振兴政策培训", "基层治理能力培训", "党务知识培训", "法律法规知识讲座", "意识形态工作培训")
_TRAINING_HOURS = np.array([6.0, 8.0, 8.0, 8.0])  # mostly full days (8 学时 a day)
_ONLINE_TOPIC = "党员教育网络学院在线学习"
_COMMITTEE_TRAINING = ("基层党组织书记和班子成员集中轮训", "支部委员党务工作专题培训", "党支部书记示范培训班")

_HONORS = (  # (title, kind); the same title at two levels means the same work
    ("先进基层党组织", "表彰"), ("五好党支部", "表彰"), ("标准化规范化建设示范党支部", "表彰"),
    ("党建引领基层治理创新项目", "创新项目"), ("红旗党支部", "表彰"), ("“支部工作法”创新案例", "创新项目"),
    ("党员教育管理经验做法", "经验推广"), ("党建工作先进集体", "表彰"), ("党员积分制管理创新项目", "创新项目"),
    ("“三会一课”规范化经验", "经验推广"), ("基层党建示范点", "表彰"), ("为民服务做法获领导批示肯定", "领导批示"),
    ("“党建+产业”融合发展项目", "创新项目"), ("服务群众先进集体", "表彰"), ("党建品牌创建做法获领导批示肯定", "领导批示"),
    ("党员先锋岗创建经验", "经验推广"), ("优秀党建品牌", "表彰"), ("基层治理典型案例", "经验推广"),
    ("党员志愿服务先进集体", "表彰"), ("“网格+党建”创新项目", "创新项目"),
)
_HONOR_LEVEL_P = np.array([[0.015, 0.15, 0.36, 0.37, 0.105],  # model
                           [0.00, 0.04, 0.22, 0.49, 0.25],   # ordinary
                           [0.00, 0.00, 0.10, 0.50, 0.40],   # weak
                           [0.00, 0.00, 0.00, 0.50, 0.50]])  # very weak
_HONOR_DOC_PREFIX = ("中组发", "示省组发", "示市组发", "示县发")  # by level; 乡镇级 uses the parent's abbreviation

_RECTIFICATION_PROBLEMS = (
    "党费收缴不及时", "“三会一课”记录不规范", "主题党日活动形式单一", "发展党员档案材料不全",
    "流动党员管理台账不完善", "党务公开不及时", "党员活动阵地标识不规范", "组织生活会查摆问题不深入",
    "党员学习培训学时不足", "支部委员分工不明确", "谈心谈话开展不经常", "党员联系服务群众不到位",
    "整改台账销号资料不完整",
)
_INSPECTION_ITEMS = ("阵地建设", "台账资料", "作用发挥")
# Items the committee adds for the other kinds of branch, each worth 2 like the three above, so that the
# sheet totals what five_star gives 现场检查 for that kind: 农村 6, 社区 12 (网格化服务、共驻共建), 机关、国有企业、
# 学校 10 (党建与业务融合), 非公企业、社会组织 12 (企业发展). With 6 for everyone, the variants' 10-12 points
# could never be reached and every non-农村 branch lost 4-6 points (scoring.checks warns about exactly that).
_INSPECTION_ITEM_MAX = 2.0
_INSPECTION_EXTRA = {
    _COMMUNITY: ("网格化服务", "共驻共建", "居民评价"),
    _ORGAN: ("党建与业务融合", "制度执行"), _SOE: ("党建与业务融合", "制度执行"), _SCHOOL: ("党建与业务融合", "制度执行"),
    _PRIVATE: ("企业发展", "凝聚职工", "服务社会"), _SOCIAL: ("企业发展", "凝聚职工", "服务社会"),
}
_INSPECTION_NOTES = ("活动阵地挂牌和制度上墙不规范", "会议记录和台账资料归档不完整", "党员先锋作用发挥不够明显")

_DISCIPLINE_NOTES = ("违反廉洁纪律，受到党内警告处分", "违反工作纪律，受到党内严重警告处分",
                     "违规操办婚丧喜庆事宜，受到党内警告处分", "无正当理由长期不参加组织生活，受到党内警告处分")
_PETITION_NOTES = ("群众因土地承包纠纷越级赴市上访", "群众因征地补偿问题越级赴省上访", "群众因拖欠工程款问题越级上访",
                   "群众因宅基地纠纷越级赴市上访")
_SERIOUS_NOTES = {
    "严重违纪违法": "涉嫌严重违纪违法，接受纪律审查和监察调查",
    "群体性事件": "因征地拆迁补偿问题引发群众聚集，造成较大社会影响",
    "重大安全事故": "辖区内发生一起较大生产安全事故，造成人员伤亡",
}


# ----------------------------------------------------------------------------------------------------
# Small vectorized helpers


def _s(*parts) -> np.ndarray:
    """Element-wise concatenation of broadcastable string arrays/scalars into a numpy unicode array."""
    out = np.asarray(parts[0], dtype=np.str_)
    for p in parts[1:]:
        out = np.strings.add(out, np.asarray(p, dtype=np.str_))
    return out


def _pick(vocab, idx) -> np.ndarray:
    return np.asarray(vocab, dtype=np.str_)[np.asarray(idx) % len(vocab)]


def _cumcount(groups: np.ndarray) -> np.ndarray:
    """Position of each row within its group, in row order (groups need not be contiguous)."""
    return pd.Series(groups).groupby(groups, sort=False).cumcount().to_numpy()


def _within(starts_of_rows: np.ndarray) -> np.ndarray:
    """Position within contiguous runs, given each row's run start index."""
    return np.arange(len(starts_of_rows)) - starts_of_rows


def _categorical(rng, probs: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One draw per row from the distribution ``probs[group[row]]``."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(group))
    return (u[:, None] >= cum[group]).sum(axis=1)


def _uniform(rng, lo, hi, size: int | None = None) -> np.ndarray:
    """Uniform draws in [lo, hi); lo and hi broadcast against each other and against ``size``."""
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    shape = np.broadcast_shapes(lo.shape, hi.shape, () if size is None else (size,))
    return lo + (hi - lo) * rng.random(shape)


def _day(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


def _dates(days, valid=None) -> np.ndarray:
    """Integer days since 1970-01-01 -> datetime64[ns] (NaT where not valid)."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")
    if valid is not None:
        d = np.where(valid, d, np.datetime64("NaT", "ns"))
    return d


def _ordinal(k, size) -> np.ndarray:
    """The ordinal inserted into a name: empty for the first ``size`` users of a name pool, then 第二, 第三..."""
    rnd = np.asarray(k) // size
    words = np.asarray(_CN_NUM, dtype=np.str_)[np.clip(rnd + 1, 0, len(_CN_NUM) - 1)]
    words = np.where(rnd + 1 >= len(_CN_NUM), (rnd + 1).astype(np.str_), words)
    return np.where(rnd == 0, "", _s("第", words))


def _names(rng, male: np.ndarray) -> np.ndarray:
    n = len(male)
    w = 1.0 / (np.arange(len(_SURNAMES)) + 4.0)
    surname = np.asarray(_SURNAMES, dtype=np.str_)[rng.choice(len(_SURNAMES), n, p=w / w.sum())]
    g_m = np.asarray(_GIVEN_MALE, dtype=np.str_)
    g_f = np.asarray(_GIVEN_FEMALE, dtype=np.str_)
    c1 = np.where(male, g_m[rng.integers(0, len(g_m), n)], g_f[rng.integers(0, len(g_f), n)])
    c2 = np.where(male, g_m[rng.integers(0, len(g_m), n)], g_f[rng.integers(0, len(g_f), n)])
    c2 = np.where((rng.random(n) < 0.75) & (c2 != c1), c2, "")
    return _s(surname, c1, c2).astype(object)


def _distinct_names(rng, branch: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Names that are distinct within each branch (records keyed by branch and name stay unambiguous)."""
    names = _names(rng, male)
    for _ in range(50):  # a few rounds of re-drawing the repeated ones, each round vectorized
        dup = pd.DataFrame({"b": branch, "name": names}).duplicated().to_numpy()
        if not dup.any():
            break
        names[dup] = _names(rng, male[dup])
    return names


def _cat(vocab, codes, dtype: pd.CategoricalDtype | None = None) -> pd.Categorical:
    """``vocab[codes]`` as a categorical (codes, not a Python string per row): the compact form of a long
    text column of repeated values. ``dtype``, when given, holds ``vocab`` already (unique)."""
    if dtype is None:
        distinct, where = np.unique(np.asarray(vocab, dtype=object), return_inverse=True)
        return pd.Categorical.from_codes(where[np.asarray(codes)], categories=pd.Index(distinct, dtype=object))
    return pd.Categorical.from_codes(np.asarray(codes), dtype=dtype)


def _ids(values) -> pd.CategoricalDtype:
    """The categorical dtype of unique ids (branch or member ids), made once and shared by every table."""
    return pd.CategoricalDtype(pd.Index(np.asarray(values, dtype=object), dtype=object))


def _frame(spec: Table, cols: dict, compact: bool = False) -> pd.DataFrame:
    """A frame in the spec's column order with the dataset dtypes (str -> object of str/None, ...). With
    ``compact`` a categorical text column stays categorical (for writing large counties)."""
    data = {}
    n = None
    for c in spec.columns:
        v = cols[c.id]
        dt = DTYPES[c.dtype]
        if dt == "object" and isinstance(v, pd.Categorical):
            s = pd.Series(v) if compact else pd.Series(np.asarray(v, dtype=object), dtype=object)
        elif dt == "object":
            arr = np.asarray(v, dtype=object)
            if arr.dtype == object:
                arr = np.where(pd.isna(arr) | (arr == ""), None, arr)
            s = pd.Series(arr, dtype=object)
        elif dt == "Int64":
            s = pd.Series(pd.array(v, dtype="Int64"))
        elif dt == "float64":
            s = pd.Series(np.asarray(v, dtype=np.float64))
        elif dt == "datetime64[ns]":
            s = pd.Series(np.asarray(v).astype("datetime64[ns]"))
        else:
            s = pd.Series(pd.array(v, dtype="boolean"))
        n = len(s) if n is None else n
        if len(s) != n:
            raise ValueError(f"{spec.id}.{c.id}: length {len(s)} != {n}")
        data[c.id] = s
    return pd.DataFrame(data)


# ----------------------------------------------------------------------------------------------------
# The generator


def generate_county(n_branches: int = 320, seed: int = 2025, year: int = 2025) -> dict[str, pd.DataFrame]:
    """All 13 built-in tables of a synthetic county for assessment year ``year``, keyed by table id.

    Frames have the canonical column ids of ``scoring.tables`` and the dtypes of ``scoring.dataset``.
    Activity records (meetings, dues, training, honors, incidents, rectifications) lie in ``year``, except
    a few meetings and one discipline case of the previous year that measures must ignore; recruitment
    goes back up to about eight years. Same arguments, identical frames.
    """
    out = dict(iter_county(n_branches, seed, year))
    return {t.id: out[t.id] for t in TABLES}


def iter_county(n_branches: int = 320, seed: int = 2025, year: int = 2025, compact: bool = False):
    """The tables of :func:`generate_county` one after another, as ``(table id, frame)`` in the order they
    are made (each can be written and dropped before the next: a province of 100,000 branches is never
    held at once). With ``compact`` long text columns of repeated values (ids, months, kinds, topics) are
    categorical; the values are the same."""
    n = int(n_branches)
    if n < 1:
        raise ValueError("n_branches must be at least 1")
    rng = np.random.default_rng(seed)
    b = _gen_branches(rng, n)
    b["id_dtype"] = _ids(b["branch_id"])
    adm, pipe = _gen_admissions(rng, b, year)
    m = _gen_members(rng, b, adm, year, compact)
    yield "branches", _frame(_SPECS["branches"], _branches_table(rng, b, m, year), compact)
    yield "members", m.pop("table")
    meetings = _meetings_table(rng, b, m, year)
    held = _appraisal_meetings(b, meetings, year)
    yield "meetings", _frame(_SPECS["meetings"], meetings, compact)
    del meetings
    dues, long_unpaid = _dues_table(rng, b, m, year, compact)
    yield "dues", dues
    del dues
    yield "recruitment", _frame(_SPECS["recruitment"], _recruitment_table(rng, b, adm, pipe, year), compact)
    yield "training", _frame(_SPECS["training"], _training_table(rng, b, m, year), compact)
    yield "appraisals", _frame(_SPECS["appraisals"], _appraisals_table(rng, b, m, long_unpaid, held, year), compact)
    yield "economy", _frame(_SPECS["economy"], _economy_table(rng, b), compact)
    yield "surveys", _frame(_SPECS["surveys"], _surveys_table(rng, b), compact)
    yield "honors", _frame(_SPECS["honors"], _honors_table(rng, b, year), compact)
    yield "incidents", _frame(_SPECS["incidents"], _incidents_table(rng, b, m, year), compact)
    yield "inspections", _frame(_SPECS["inspections"], _inspections_table(rng, b), compact)
    yield "rectifications", _frame(_SPECS["rectifications"], _rectifications_table(rng, b, year), compact)


def _gen_branches(rng, n: int) -> dict:
    # categories: fixed shares, every category present from 7 branches on
    if n >= 7:
        counts = np.maximum(np.floor(_CATEGORY_SHARE * n).astype(int), 1)
        counts[_RURAL] = n - counts[1:].sum()
    else:
        counts = np.zeros(7, dtype=int)
        counts[:n] = 1
    cat = rng.permutation(np.repeat(np.arange(7), counts))

    profile = rng.choice(4, n, p=_PROFILE_SHARE)
    if n >= 20:  # every profile present
        for p in range(4):
            if not (profile == p).any():
                candidates = np.flatnonzero(profile == _ORDINARY)
                profile[candidates[rng.integers(0, len(candidates))]] = p
    if n >= 40 and not ((profile == _VERY_WEAK) & (cat == _RURAL)).any():
        candidates = np.flatnonzero((profile == _ORDINARY) & (cat == _RURAL))
        profile[candidates[rng.integers(0, len(candidates))]] = _VERY_WEAK

    # parents: villages and communities in townships (communities mostly in the 街道 and the county seat);
    # organs, schools and "两新" partly in townships, partly under county-level committees
    w_rural = np.array([0.5] + [1.0] * 11 + [0.15, 0.15])
    w_comm = np.array([3.0] + [0.4] * 4 + [0.3] * 3 + [0.2] * 4 + [3.0, 3.0])
    town_any = rng.integers(0, _N_TOWN, n)
    u = rng.random(n)
    parent = np.select(
        [cat == _RURAL, cat == _COMMUNITY, cat == _ORGAN, cat == _SCHOOL, cat == _SOE, cat == _PRIVATE],
        [rng.choice(_N_TOWN, n, p=w_rural / w_rural.sum()), rng.choice(_N_TOWN, n, p=w_comm / w_comm.sum()),
         np.where(u < 0.4, town_any, _P_JIGUAN), np.where(u < 0.5, town_any, _P_EDU), _P_SOE,
         np.where(u < 0.4, town_any, _P_LIANGXIN)],
        np.where(u < 0.2, town_any, _P_LIANGXIN),
    )

    order = np.lexsort((rng.random(n), cat, parent))
    cat, profile, parent = cat[order], profile[order], parent[order]
    num = _cumcount(parent) + 1
    codes = np.array([f"XZ{i + 1:02d}" for i in range(_N_TOWN)] + [f"XJ{i + 1:02d}" for i in range(4)])
    branch_id = _s(codes[parent], "-", np.strings.zfill(num.astype(np.str_), 3))

    parent_names = np.array([t + ("党工委" if t.endswith("街道") else "党委") for t in TOWNSHIPS]
                            + list(COUNTY_PARENTS))
    lo, hi = _QUALITY_RANGE[profile].T
    quality = _uniform(rng, lo, hi)
    size = np.clip(np.rint(rng.normal(_SIZE_MEAN[cat], _SIZE_MEAN[cat] * 0.28)), 8, 50).astype(int)
    committee = np.where(size < 15, 3, rng.choice([3, 5], n, p=[0.3, 0.7]))
    return {
        "n": n, "cat": cat, "profile": profile, "parent": parent, "q": quality, "size": size,
        "committee": committee,
        "branch_id": branch_id, "parent_name": parent_names[parent],
        "name": _branch_names(cat, parent),
    }


def _branch_names(cat: np.ndarray, parent: np.ndarray) -> np.ndarray:
    n = len(cat)
    k_pc = _cumcount(parent * 7 + cat)  # position among the same category under the same parent
    k_c = _cumcount(cat)  # position among the same category in the county
    town = np.asarray(TOWNSHIPS + COUNTY_PARENTS, dtype=np.str_)[parent]
    in_town = parent < _N_TOWN
    name = np.full(n, "", dtype=object)

    # villages: a permutation of the 320 name combinations per township, distinct within a township
    n_comb = len(_VILLAGE_A) * len(_VILLAGE_B)
    comb = (k_pc * 37 + parent * 53) % n_comb
    village = _s(_pick(_VILLAGE_A, comb // len(_VILLAGE_B)), _pick(_VILLAGE_B, comb), "村")
    parts = {
        _RURAL: _s(town, village, _ordinal(k_pc, n_comb), "党支部"),
        _COMMUNITY: _s(town, _pick(_COMMUNITY_STEMS, k_pc + parent * 5), "社区",
                       _ordinal(k_pc, len(_COMMUNITY_STEMS)), "党支部"),
        _ORGAN: np.where(in_town, _s(town, "机关", _ordinal(k_pc, 1), "党支部"),
                         _s(_pick(_COUNTY_ORGANS, k_pc), _ordinal(k_pc, len(_COUNTY_ORGANS)), "党支部")),
        _SOE: _s(COUNTY, _pick(_SOES, k_c), _ordinal(k_c, len(_SOES)), "党支部"),
        _PRIVATE: _s(COUNTY, _pick(_BRANDS, k_c * 5), _pick(_INDUSTRIES, k_c * 7 + k_c // 48), "有限公司",
                     _ordinal(k_c, len(_BRANDS) * len(_INDUSTRIES)), "党支部"),
        _SCHOOL: np.where(in_town, _s(town, _pick(_TOWNSHIP_SCHOOLS, k_pc), _ordinal(k_pc, len(_TOWNSHIP_SCHOOLS)),
                                      "党支部"),
                          _s(_pick(_COUNTY_SCHOOLS, k_pc), _ordinal(k_pc, len(_COUNTY_SCHOOLS)), "党支部")),
        _SOCIAL: np.where(in_town, _s(town, "社会组织联合", _ordinal(k_pc, 1), "党支部"),
                          _s(COUNTY, _pick(_SOCIAL_ORGS, k_pc), _ordinal(k_pc, len(_SOCIAL_ORGS)), "党支部")),
    }
    for c, values in parts.items():
        sel = cat == c
        name[sel] = values[sel]
    return name.astype(np.str_)


def _gen_admissions(rng, b: dict, year: int):
    """People admitted as 预备党员 in the last five years (they are members now) and the current pipeline."""
    n, profile, cat = b["n"], b["profile"], b["cat"]
    y_start = _day(f"{year}-01-01")
    # calendar year of the latest admission: 0 this year, 1 last year, 2, 3 (3-5 years ago), 4 none in 5 years
    p_last = np.array([[0.85, 0.15, 0.00, 0.00, 0.00],
                       [0.60, 0.28, 0.095, 0.015, 0.01],
                       [0.30, 0.30, 0.25, 0.10, 0.05],
                       [0.00, 0.10, 0.20, 0.35, 0.35]])
    bucket = _categorical(rng, p_last, profile)
    bucket = np.where(np.isin(cat, (_PRIVATE, _SOCIAL)) & (bucket < 2) & (rng.random(n) < 0.15), bucket + 1, bucket)
    if n >= 20 and not (bucket >= 3).any():
        bucket[np.flatnonzero(profile == profile.max())[0]] = 3
    years_ago = np.where(bucket == 3, rng.integers(3, 5, n), bucket)
    last_day = np.array([_day(f"{year - y}-01-01") for y in range(6)])[np.minimum(years_ago, 5)]
    last_day = last_day + rng.integers(40, 345, n)
    # admitted together at one 党员大会; larger branches admit more
    batch = np.where(bucket < 4, 1 + rng.binomial(np.where(b["size"] >= 30, 3, 2), 0.55), 0)
    extra = np.where(bucket < 4, np.minimum(rng.poisson(np.array([0.9, 0.6, 0.3, 0.2])[profile]), 2), 0)
    per = batch + extra
    ab = np.repeat(np.arange(n), per)
    j = _within(np.repeat(np.cumsum(per) - per, per))
    is_batch = j < batch[ab]
    day = np.where(is_batch, last_day[ab], last_day[ab] - rng.integers(200, 1500, len(ab)))
    keep = day >= _day(f"{year - 5}-01-01")
    ab, day = ab[keep], day[keep]
    # they take the last places of the branch's roll, so at most size - committee - 1 of them (newest first)
    rank = _cumcount(ab)
    keep = rank < b["size"][ab] - b["committee"][ab] - 1
    ab, day, rank = ab[keep], day[keep], rank[keep]
    male = rng.random(len(ab)) < np.where(cat[ab] == _RURAL, 0.65, 0.5)
    age_at_admission = rng.integers(22, 38, len(ab))
    adm = {"branch": ab, "day": day, "rank": rank, "male": male,
           "age_now": age_at_admission + (y_start + 364 - day) // 365}

    # pipeline: applicants, activists (入党积极分子) and 发展对象 not yet admitted
    p_activist = np.array([1.0, 0.85, 0.5, 0.2])[profile]
    n_act = np.where(rng.random(n) < p_activist, 1 + rng.binomial(2, np.array([0.6, 0.35, 0.2, 0.0])[profile]), 0)
    n_app = rng.binomial(3, np.array([0.6, 0.45, 0.3, 0.15])[profile])
    n_dev = rng.binomial(1, np.array([0.6, 0.35, 0.15, 0.0])[profile])
    per = n_app + n_act + n_dev
    pb = np.repeat(np.arange(n), per)
    k = _within(np.repeat(np.cumsum(per) - per, per))
    reached = np.where(k < n_app[pb], 0, np.where(k < n_app[pb] + n_act[pb], 1, 2))
    pmale = rng.random(len(pb)) < 0.55
    latest = y_start + 364 - rng.integers(20, 600, len(pb))
    names = _distinct_names(rng, np.concatenate([ab, pb]), np.concatenate([male, pmale]))
    adm["name"] = names[: len(ab)]
    pipe = {"branch": pb, "reached": reached, "latest": latest, "name": names[len(ab):]}
    return adm, pipe


def _gen_members(rng, b: dict, adm: dict, year: int, compact: bool = False) -> dict:
    n, cat, profile = b["n"], b["cat"], b["profile"]
    y_end = _day(f"{year}-12-31")
    size, committee = b["size"], b["committee"]
    has_deputy = (committee == 5) | (rng.random(n) < 0.4)

    starts = np.cumsum(size) - size
    M = int(size.sum())
    mb = np.repeat(np.arange(n), size)
    k = _within(starts[mb])
    c = cat[mb]
    role = np.where(k == 0, 0, np.where(k < committee[mb], np.where((k == 1) & has_deputy[mb], 1, 2), 3))
    is_committee = role < 3

    male_p = np.where(role == 0, np.where(c == _SCHOOL, 0.6, 0.85), _MALE_SHARE[c])
    male = rng.random(M) < male_p
    shift = np.where((c <= _COMMUNITY) & (profile[mb] >= _WEAK), 4.0, 0.0) + np.repeat(rng.normal(0, 5, n), size)
    age = rng.normal(_AGE_MEAN[c] + shift, _AGE_SD[c])
    age = np.where(is_committee, rng.normal(np.where(c <= _COMMUNITY, 49, 45), 7, M), age)
    age = np.clip(age, 27, _AGE_MAX[c])

    mobile_p = _MOBILE_SHARE[c] * np.array([0.8, 1.0, 1.4, 1.7])[profile[mb]]
    mobile = (rng.random(M) < mobile_p) & ~is_committee
    age = np.where(mobile, np.clip(rng.normal(40, 9, M), 25, 62), age)

    age_days = np.rint(age * 365.25).astype(np.int64)
    birth = y_end - age_days - rng.integers(0, 365, M)
    join_age = 18 + rng.beta(2, 4, M) * (age - 5 - 18)
    join = np.minimum(birth + np.rint(join_age * 365.25).astype(np.int64) + rng.integers(0, 365, M),
                      y_end - 5 * 366 - 30)
    name = _names(rng, male)

    # the people admitted in the last five years fill the last places of the roll
    slot = starts[adm["branch"]] + size[adm["branch"]] - 1 - adm["rank"]
    name[slot] = adm["name"]
    male[slot] = adm["male"]
    mobile[slot] &= rng.random(len(slot)) < 0.5
    age_now = adm["age_now"]
    birth[slot] = y_end - np.rint(age_now * 365.25).astype(np.int64) - rng.integers(0, 365, len(slot))
    join[slot] = adm["day"]
    status = np.zeros(M, dtype=int)  # 0 正式, 1 预备
    status[slot] = np.where(adm["day"] + 365 > y_end, 1, 0)  # one year as 预备党员
    age = np.where(np.isin(np.arange(M), slot), (y_end - birth) / 365.25, age)

    edu = _categorical(rng, _EDUCATION_P, c * 2 + (age < 55))
    edu_txt = np.where(rng.random(M) < 0.01, "", np.asarray(_EDUCATION, dtype=np.str_)[edu])

    # mobile members' last contact: mostly within six months of the year end, some older or missing
    recent_p = np.array([1.0, 0.9, 0.7, 0.5])[profile[mb]]
    recent = rng.random(M) < recent_p
    contact_ago = np.where(recent, rng.integers(0, 175, M), rng.integers(190, 600, M))
    contact_valid = mobile & (recent | (rng.random(M) < 0.75))

    member_id = _s(b["branch_id"][mb], "-", np.strings.zfill((k + 1).astype(np.str_), 2)).astype(object)
    table = {
        "member_id": member_id, "branch_id": _cat(None, mb, b["id_dtype"]),
        "name": name.astype(object), "gender": np.where(male, "男", "女").astype(object),
        "birth_date": _dates(birth), "join_date": _dates(join),
        "status": np.where(status == 1, "预备", "正式").astype(object),
        "role": _cat(MEMBER_ROLES, role),
        "education": edu_txt.astype(object), "is_mobile": mobile,
        "last_contact": _dates(y_end - contact_ago, contact_valid),
    }
    return {
        "table": _frame(builtin_table_map()["members"], table, compact),
        "size": size, "committee": committee, "starts": starts, "mb": mb, "k": k, "role": role,
        "is_committee": is_committee, "mobile": mobile, "stale": mobile & ~recent, "age": age,
        "join": join, "status": status, "name": name, "id": member_id, "id_dtype": _ids(member_id),
    }


def _branches_table(rng, b: dict, m: dict, year: int) -> dict:
    n, cat, profile, q = b["n"], b["cat"], b["profile"], b["q"]
    term = np.where(cat <= _COMMUNITY, 5, 3)
    term_end_base = np.where(term == 5, _day(f"{year - 5}-12-31"), _day(f"{year - 3}-12-31"))
    # the day the term ends is last_election + term years; overdue means it ended before the year end
    p_over = np.array([0.0, 0.04, 0.22, 0.40])[profile]
    overdue = rng.random(n) < p_over
    far = np.zeros(n, dtype=bool)
    if n >= 20:
        if not overdue.any():
            overdue[np.argsort(q)[0]] = True
        n_far = 1 if n < 100 else max(2, n // 160)
        cand = np.flatnonzero(overdue)
        far[cand[np.argsort(q[cand], kind="stable")[:n_far]]] = True
    over_days = np.where(far, rng.integers(400, 700, n), rng.integers(15, 330, n))
    # within the term: villages and communities mostly at the county-wide 换届 four years ago (Jan-Jun)
    wave = (cat <= _COMMUNITY) & (rng.random(n) < 0.8)
    in_term = np.where(wave, _day(f"{year - 4}-01-05") + rng.integers(0, 170, n),
                       term_end_base + rng.integers(45, np.where(term == 5, 1790, 1060), n))
    last_election = np.where(overdue, term_end_base - over_days, in_term)

    has_self = rng.random(n) < 0.7
    self_score = np.clip(np.rint(rng.normal(86 + 10 * q, 3, n) * 2) / 2, 80, 98)
    secretary = m["name"][m["starts"]]
    committee = np.bincount(m["mb"], weights=m["is_committee"], minlength=n).astype(int)
    return {
        "branch_id": b["branch_id"].astype(object), "name": b["name"].astype(object),
        "category": np.asarray(CATEGORIES, dtype=object)[cat], "parent": b["parent_name"].astype(object),
        "secretary": secretary.astype(object), "committee_size": committee,
        "last_election": _dates(last_election), "term_years": term,
        "self_score": np.where(has_self, self_score, np.nan),
    }


def _meetings_table(rng, b: dict, m: dict, year: int) -> dict:
    n, profile, q = b["n"], b["profile"], b["q"]
    y_start = _day(f"{year}-01-01")
    month_start = (np.arange(np.datetime64(f"{year}-01"), np.datetime64(f"{year + 1}-01"), dtype="datetime64[M]")
                   .astype("datetime64[D]").astype(np.int64))
    mobile_share = np.bincount(m["mb"], weights=m["mobile"], minlength=n) / m["size"]
    attend = _uniform(rng, np.array([0.93, 0.84, 0.72, 0.68])[profile], np.array([0.99, 0.96, 0.86, 0.82])[profile])
    attend = attend * (1 - 0.6 * mobile_share)
    day_of_party_day = rng.choice([1, 5, 10, 15, 20, 25], n)  # 主题党日: a fixed day each month
    yearly_day = y_start + np.where(rng.random(n) < 0.7, 334, 304) + rng.integers(0, 28, n)  # Nov/Dec

    rows_b, rows_day, rows_kind = [], [], []
    for ki, kind in enumerate(MEETING_KINDS):
        target = _MEETING_TARGET[kind]
        if target == 1:
            p_held = np.array([1.0, 0.99, 0.85, 0.6])[profile]
            held = rng.random(n) < p_held
            bb = np.flatnonzero(held)
            # 民主评议党员 is usually held together with the 组织生活会
            same = rng.random(n) < 0.6
            dd = np.where((kind == "民主评议党员") & ~same, yearly_day + rng.integers(1, 6, n), yearly_day)[bb]
        else:
            p = np.clip(q + 0.08 + rng.normal(0, 0.04, n), 0, 1)
            count = np.where(profile == _MODEL, target, rng.binomial(target, p))
            period = 12 // target
            ranks = np.argsort(np.argsort(rng.random((n, target)), axis=1), axis=1)
            held = ranks < count[:, None]
            bb, slot = np.nonzero(held)
            month = slot * period + rng.integers(0, period, len(bb))
            if kind == "主题党日":
                dom = day_of_party_day[bb] - 1
            else:
                dom = rng.integers(0, 28, len(bb))
            dd = month_start[month] + dom
            if kind in ("党课", "支委会"):  # occasional extra sessions
                extra = np.flatnonzero(rng.random(n) < np.where(kind == "党课", 0.25, 0.08) * (profile <= _ORDINARY))
                bb = np.concatenate([bb, extra])
                dd = np.concatenate([dd, y_start + rng.integers(0, 360, len(extra))])
        rows_b.append(bb)
        rows_day.append(dd)
        rows_kind.append(np.full(len(bb), ki))

    # a few records of the previous year (late December) that measures must ignore
    n_prev = max(1, n // 25) if n >= 20 else 0
    prev_b = rng.choice(n, n_prev, replace=False)
    rows_b.append(prev_b)
    rows_day.append(np.full(n_prev, _day(f"{year - 1}-12-01")) + rng.integers(0, 28, n_prev))
    rows_kind.append(rng.choice([1, 4, 5], n_prev))

    bb = np.concatenate(rows_b)
    dd = np.concatenate(rows_day)
    kk = np.concatenate(rows_kind)
    order = np.lexsort((kk, dd, bb))
    bb, dd, kk = bb[order], dd[order], kk[order]

    # expected: the members on the roll at the meeting date (admissions during the year join later)
    joined_this_year = np.flatnonzero(m["join"] >= y_start)
    late = pd.DataFrame({"b": m["mb"][joined_this_year], "join": m["join"][joined_this_year]})
    mt = pd.DataFrame({"b": bb, "d": dd, "row": np.arange(len(bb))})
    pair = mt.merge(late, on="b")
    not_yet = np.bincount(pair["row"][pair["join"] > pair["d"]].to_numpy(), minlength=len(bb))
    is_committee_meeting = kk == MEETING_KINDS.index("支委会")
    expected = np.where(is_committee_meeting, m["committee"][bb], m["size"][bb] - not_yet)
    rate = np.where(is_committee_meeting, np.minimum(attend[bb] + 0.08, 1.0), attend[bb])
    attended = rng.binomial(expected, rate)
    topics = np.zeros(len(bb), dtype=np.int64)  # positions in the topics of all kinds, one after another
    vocab, offset = [], 0
    for ki, kind in enumerate(MEETING_KINDS):
        sel = kk == ki
        topics[sel] = offset + rng.integers(0, 1000, sel.sum()) % len(_MEETING_TOPICS[kind])
        vocab += list(_MEETING_TOPICS[kind])
        offset += len(_MEETING_TOPICS[kind])
    return {
        "branch_id": _cat(None, bb, b["id_dtype"]), "date": _dates(dd),
        "kind": _cat(MEETING_KINDS, kk), "expected": expected, "attended": attended,
        "topic": _cat(vocab, topics), "_b": bb, "_k": kk, "_d": dd,
    }


def _appraisal_meetings(b: dict, meetings: dict, year: int) -> np.ndarray:
    """Which branches held the 民主评议党员 in ``year`` (the appraisals follow the meetings)."""
    this_year = pd.DatetimeIndex(_dates(meetings["_d"])).year.to_numpy() == year
    held_rows = this_year & (meetings["_k"] == MEETING_KINDS.index("民主评议党员"))
    return np.isin(np.arange(b["n"]), meetings["_b"][held_rows])


def _dues_table(rng, b: dict, m: dict, year: int, compact: bool = False):
    n, cat, profile, q = b["n"], b["cat"], b["profile"], b["q"]
    mb, age, M = m["mb"], m["age"], len(m["mb"])
    c = cat[mb]
    y_start, y_end = _day(f"{year}-01-01"), _day(f"{year}-12-31")
    month_start = (np.arange(np.datetime64(f"{year}-01"), np.datetime64(f"{year + 2}-01"), dtype="datetime64[M]")
                   .astype("datetime64[D]").astype(np.int64))
    labels = [f"{year}-{i:02d}" for i in range(1, 13)]

    # monthly dues by the 2008 rules: salaried by after-tax income, retirees by pension, farmers a fixed amount
    retired = (age >= 60) & (c != _RURAL)
    income = np.select([c == _ORGAN, c == _SCHOOL, c == _SOE, c == _PRIVATE, c == _SOCIAL],
                       [_uniform(rng, 4500, 9500, M), _uniform(rng, 4500, 8500, M),
                        _uniform(rng, 4000, 11000, M), _uniform(rng, 2800, 7000, M),
                        _uniform(rng, 2500, 5000, M)],
                       _uniform(rng, 2600, 6000, M))
    pension = _uniform(rng, 2500, 7000, M)
    salary_rate = np.select([income <= 3000, income <= 5000, income <= 10000], [0.005, 0.01, 0.015], 0.02)
    pension_rate = np.where(pension <= 5000, 0.005, 0.01)
    due = np.where(retired, pension * pension_rate, income * salary_rate)
    farmer = c == _RURAL
    due = np.where(farmer, rng.choice([0.5, 1.0, 1.0, 2.0], M), np.round(due, 1))
    no_income = (c == _COMMUNITY) & (age < 35) & (rng.random(M) < 0.2)
    due = np.where(no_income, 0.2, due)

    first_month = np.where(m["join"] >= y_start, (m["join"].astype("datetime64[D]").astype("datetime64[M]")
                                                  .astype(np.int64) - (year - 1970) * 12), 0)
    per = 12 - first_month
    rm = np.repeat(np.arange(M), per)
    mon = _within(np.repeat(np.cumsum(per) - per, per)) + first_month[rm]
    R = len(rm)
    rb = mb[rm]

    p_miss = np.select([profile == _MODEL, profile == _ORDINARY, profile == _WEAK],
                       [0.0, _uniform(rng, 0.0, 0.01, n), _uniform(rng, 0.01, 0.05, n)],
                       _uniform(rng, 0.03, 0.07, n))
    p_late = np.select([profile == _MODEL, profile == _ORDINARY, profile == _WEAK],
                       [0.005, _uniform(rng, 0.0, 0.06, n), _uniform(rng, 0.03, 0.10, n)],
                       _uniform(rng, 0.05, 0.12, n))
    miss_p = np.where(m["stale"][rm], 0.25, p_miss[rb])
    unpaid = rng.random(R) < miss_p

    # a few members stop paying for 6+ consecutive months (mostly mobile members out of contact)
    long_b = np.flatnonzero((profile >= _WEAK) & (rng.random(n) < 0.25))
    if n >= 40 and len(long_b) < 2:
        long_b = np.union1d(long_b, np.argsort(q, kind="stable")[:2])
    pref = rng.random(M) + 2.0 * m["stale"] - 3.0 * m["is_committee"] - 3.0 * (m["status"] == 1)
    top = pd.Series(pref).groupby(mb).idxmax().to_numpy()  # the member most likely to drop out, per branch
    long_m = top[long_b]
    long_from = np.zeros(M, dtype=int) + 99
    long_from[long_m] = rng.integers(0, 6, len(long_m))
    unpaid |= mon >= long_from[rm]

    late = ~unpaid & (rng.random(R) < p_late[rb])
    # most members pay on the branch's collection day (often the 主题党日), the others some other day
    dues_day = rng.integers(4, 20, n)
    paid_day = month_start[mon] + np.where(rng.random(R) < 0.85, dues_day[rb], rng.integers(0, 28, R))
    late_day = month_start[mon + rng.integers(1, 3, R)] + rng.integers(0, 28, R)
    paid_day = np.where(late, np.minimum(late_day, y_end), paid_day)
    partial = ~unpaid & (rng.random(R) < 0.004)
    due_r = due[rm]
    paid = np.where(unpaid, 0.0, np.where(partial, np.round(due_r * 0.5, 1), due_r))
    paid_date = _dates(paid_day, ~unpaid)
    del paid_day, late_day, late, partial, unpaid, miss_p
    table = {
        "member_id": _cat(None, rm, m["id_dtype"]), "branch_id": _cat(None, rb, b["id_dtype"]),
        "month": _cat(labels, mon), "due": due_r, "paid": paid, "paid_date": paid_date,
    }
    del rm, rb, mon
    return _frame(builtin_table_map()["dues"], table, compact), long_m


def _recruitment_table(rng, b: dict, adm: dict, pipe: dict, year: int) -> dict:
    y_end = _day(f"{year}-12-31")
    ab, admit = adm["branch"], adm["day"]
    A = len(ab)
    # backwards from the admission: 发展对象 2-5 months before, 积极分子 a year+ before that, application earlier;
    # 转正 when the year as 预备党员 is over (the same rule gives the members' status)
    dev = admit - rng.integers(60, 150, A)
    act = dev - rng.integers(365, 505, A)
    app = act - rng.integers(90, 300, A)
    full = admit + 365
    has_full = full <= y_end
    pb, reached, latest = pipe["branch"], pipe["reached"], pipe["latest"]
    P = len(pb)
    p_dev = latest
    p_act = np.where(reached == 2, latest - rng.integers(365, 515, P), latest)
    p_app = np.where(reached >= 1, p_act - rng.integers(90, 300, P), latest)

    branch = np.concatenate([ab, ab, ab, ab, ab[has_full], pb, pb[reached >= 1], pb[reached == 2]])
    person = np.concatenate([adm["name"]] * 4 + [adm["name"][has_full], pipe["name"], pipe["name"][reached >= 1],
                                                 pipe["name"][reached == 2]])
    stage = np.concatenate([np.full(A, 0), np.full(A, 1), np.full(A, 2), np.full(A, 3), np.full(has_full.sum(), 4),
                            np.full(P, 0), np.full((reached >= 1).sum(), 1), np.full((reached == 2).sum(), 2)])
    day = np.concatenate([app, act, dev, admit, full[has_full], p_app, p_act[reached >= 1],
                          p_dev[reached == 2]])
    order = np.lexsort((stage, day, branch))
    return {
        "branch_id": _cat(None, branch[order], b["id_dtype"]), "person": person[order].astype(object),
        "stage": np.asarray(RECRUITMENT_STAGES, dtype=object)[stage[order]], "date": _dates(day[order]),
    }


def _training_table(rng, b: dict, m: dict, year: int) -> dict:
    n, profile = b["n"], b["profile"]
    mb, M = m["mb"], len(m["mb"])
    y_start = _day(f"{year}-01-01")
    # sessions the branch organizes (everyone invited)
    sessions = np.select([profile == _MODEL, profile == _ORDINARY, profile == _WEAK],
                         [rng.integers(4, 7, n), rng.integers(3, 6, n), rng.integers(3, 5, n)], rng.integers(2, 4, n))
    s_start = np.cumsum(sessions) - sessions
    S = int(sessions.sum())
    s_hours = _TRAINING_HOURS[rng.integers(0, len(_TRAINING_HOURS), S)]
    s_day = y_start + rng.integers(10, 350, S)
    s_topic = rng.integers(0, 1000, S) % len(_TRAINING_TOPICS)  # positions in _TRAINING_TOPICS
    attend = np.array([0.97, 0.92, 0.75, 0.6])[profile]

    per = sessions[mb]
    pm = np.repeat(np.arange(M), per)
    ps = s_start[mb[pm]] + _within(np.repeat(np.cumsum(per) - per, per))
    rate = np.where(m["mobile"][pm], 0.2, attend[mb[pm]])
    joined_before = s_day[ps] >= m["join"][pm]
    go = (rng.random(len(pm)) < rate) & joined_before
    pm, ps = pm[go], ps[go]

    # online learning tops it up; mobile members learn mostly online
    online_h = np.rint(np.where(m["mobile"], _uniform(rng, 12, 30, M), _uniform(rng, 8, 20, M))
                       * np.array([1.1, 1.0, 0.8, 0.6])[profile[mb]])
    online = (online_h > 0) & (m["mobile"] | (rng.random(M) < np.array([0.8, 0.7, 0.45, 0.3])[profile[mb]]))
    om = np.flatnonzero(online)
    o_day = np.maximum(y_start + rng.integers(30, 360, M), m["join"])[om]

    # secretary and committee members: the county's rotation training and committee courses
    p_rot = np.array([1.0, 0.9, 0.5, 0.3])[profile[mb]]
    rot = m["is_committee"] & (rng.random(M) < p_rot)
    crs = m["is_committee"] & (rng.random(M) < 0.7 * p_rot)
    sec = (m["role"] == 0) & (rng.random(M) < 0.5 * p_rot)
    rm_, cm_, sm_ = np.flatnonzero(rot), np.flatnonzero(crs), np.flatnonzero(sec)

    member = np.concatenate([pm, om, rm_, cm_, sm_])
    day = np.concatenate([s_day[ps], o_day, y_start + rng.integers(60, 300, len(rm_)),
                          y_start + rng.integers(30, 330, len(cm_)), y_start + rng.integers(90, 320, len(sm_))])
    hours = np.concatenate([s_hours[ps], online_h[om], np.full(len(rm_), 24.0), np.full(len(cm_), 8.0),
                            np.full(len(sm_), 16.0)])
    t = len(_TRAINING_TOPICS)  # topics: the sessions', online learning, the three committee courses
    topic = np.concatenate([s_topic[ps], np.full(len(om), t), np.full(len(rm_), t + 1), np.full(len(cm_), t + 2),
                            np.full(len(sm_), t + 3)])
    order = np.lexsort((day, member))
    member, day, hours, topic = member[order], day[order], hours[order], topic[order]
    return {
        "member_id": _cat(None, member, m["id_dtype"]), "branch_id": _cat(None, mb[member], b["id_dtype"]),
        "date": _dates(day), "hours": hours,
        "topic": _cat(_TRAINING_TOPICS + (_ONLINE_TOPIC,) + _COMMITTEE_TRAINING, topic),
    }


def _appraisals_table(rng, b: dict, m: dict, long_unpaid: np.ndarray, held: np.ndarray, year: int) -> dict:
    n, profile = b["n"], b["profile"]
    mb, M = m["mb"], len(m["mb"])
    # branches that held 民主评议党员 this year (``held``) appraise their full (正式) members; 预备党员 are
    # not graded
    incomplete = rng.random(n) < np.array([0.0, 0.03, 0.35, 0.6])[profile]
    skip_share = np.where(incomplete, _uniform(rng, 0.07, 0.25, n), 0.0)
    graded = held[mb] & (m["status"] == 0) & (rng.random(M) >= skip_share[mb])
    if incomplete.any():  # at least one member left out where the appraisal was incomplete
        first_full = pd.Series(np.flatnonzero(graded & incomplete[mb])).groupby(
            mb[graded & incomplete[mb]]).first().to_numpy()
        graded[first_full] = False

    bad = np.zeros(M, dtype=int)  # 0 none, 2 基本合格, 3 不合格
    bad[long_unpaid] = np.where(rng.random(len(long_unpaid)) < 0.5, 2, 3)
    p_basic = np.array([0.0, 0.01, 0.03, 0.05])[profile[mb]]
    bad = np.where((bad == 0) & ~m["is_committee"] & (rng.random(M) < p_basic),
                   np.where(rng.random(M) < 0.85, 2, 3), bad)

    # 优秀: a share per branch, a few branches above the 1/3 ceiling
    share = _uniform(rng, 0.10, 0.30, n)
    over = rng.random(n) < 0.03
    if n >= 40 and not over.any():
        over[rng.integers(0, n)] = True
    share = np.where(over, _uniform(rng, 0.40, 0.55, n), share)
    n_graded = np.bincount(mb[graded], minlength=n)
    n_top = np.floor(share * n_graded).astype(int)
    n_top = np.where(over, np.maximum(n_top, n_graded // 3 + 1), n_top)
    merit = rng.random(M) + 0.5 * m["is_committee"] - 5.0 * (bad > 0) - 10.0 * ~graded
    rank = pd.Series(merit).groupby(mb).rank(ascending=False, method="first").to_numpy()
    grade = np.where(bad > 0, bad, np.where(rank <= n_top[mb], 0, 1))
    rows = np.flatnonzero(graded)
    return {
        "member_id": _cat(None, rows, m["id_dtype"]), "branch_id": _cat(None, mb[rows], b["id_dtype"]),
        "grade": _cat(APPRAISAL_GRADES, grade[rows]),
    }


def _economy_table(rng, b: dict) -> dict:
    rural = np.flatnonzero(b["cat"] == _RURAL)
    R = len(rural)
    profile = b["profile"][rural]
    p_band = np.array([[0.00, 0.05, 0.15, 0.35, 0.45],
                       [0.03, 0.20, 0.27, 0.30, 0.20],
                       [0.15, 0.45, 0.25, 0.12, 0.03],
                       [0.40, 0.45, 0.15, 0.00, 0.00]])
    band = _categorical(rng, p_band, profile)
    if R >= 5:  # every band of the reference table occurs
        spots = rng.permutation(R)
        for k in range(5):
            if not (band == k).any():
                free = spots[np.isin(spots, np.flatnonzero(np.bincount(band, minlength=5)[band] > 1))]
                band[free[0]] = k
    lo = np.array([0.0, 0.3, 5.0, 10.0, 20.0])[band]
    hi = np.array([0.0, 4.99, 9.99, 19.99, 85.0])[band]
    operating = np.round(_uniform(rng, lo, hi), 2)
    total = np.round(operating + _uniform(rng, 6, 40, len(operating)), 2)
    total = np.where(rng.random(R) < 0.05, np.nan, total)
    return {"branch_id": b["branch_id"][rural].astype(object), "operating_income": operating,
            "total_income": total}


def _surveys_table(rng, b: dict) -> dict:
    n, profile = b["n"], b["profile"]
    respondents = rng.integers(30, 81, n)
    rate = np.select([profile == _MODEL, profile == _ORDINARY, profile == _WEAK],
                     [_uniform(rng, 0.95, 1.0, n),
                      np.where(rng.random(n) < 0.12, _uniform(rng, 0.78, 0.87, n), _uniform(rng, 0.87, 1.0, n)),
                      _uniform(rng, 0.78, 0.93, n)],
                     _uniform(rng, 0.70, 0.88, n))
    if n >= 20:  # one or two branches below 60%
        n_low = 1 if n < 100 else max(2, round(n * 0.006))
        low = np.argsort(b["q"] + rng.random(n) * 0.05, kind="stable")[:n_low]
        rate[low] = _uniform(rng, 0.42, 0.58, len(low))
    ok = np.floor(respondents * rate + 1e-9).astype(int)
    satisfied = np.rint(ok * _uniform(rng, 0.6, 0.85, len(rate))).astype(int)
    return {"branch_id": b["branch_id"].astype(object), "respondents": respondents, "satisfied": satisfied,
            "basic": ok - satisfied, "dissatisfied": respondents - ok}


def _honors_table(rng, b: dict, year: int) -> dict:
    n, profile = b["n"], b["profile"]
    y_start = _day(f"{year}-01-01")
    claims = np.select([profile == _MODEL, profile == _ORDINARY, profile == _WEAK],
                       [rng.integers(2, 4, n), np.where(rng.random(n) < 0.2, rng.integers(1, 3, n), 0),
                        (rng.random(n) < 0.05).astype(int)], 0)
    hb = np.repeat(np.arange(n), claims)
    j = _within(np.repeat(np.cumsum(claims) - claims, claims))
    title_idx = (rng.integers(0, len(_HONORS), n)[hb] + j * 7) % len(_HONORS)
    level = _categorical(rng, _HONOR_LEVEL_P, profile[hb])
    if n >= 100 and not (level == 0).any() and (profile[hb] == _MODEL).any():
        level[np.flatnonzero(profile[hb] == _MODEL)[0]] = 0
    # the same work claimed again at the next higher level (市级 and below)
    dup = np.flatnonzero((j == 0) & (level > 1) & (rng.random(len(hb)) < 0.25))
    if n >= 40 and len(dup) == 0:
        dup = np.flatnonzero((j == 0) & (level > 1))[:1]
    hb = np.concatenate([hb, hb[dup]])
    title_idx = np.concatenate([title_idx, title_idx[dup]])
    level = np.concatenate([level, level[dup] - 1])
    H = len(hb)
    doc_no = rng.integers(1, 60, H).astype(np.str_)
    prefix = np.where(level == 4, _s(np.asarray(_TOWNSHIP_ABBR, dtype=np.str_)[b["parent"][hb]], "党发"),
                      np.asarray(_HONOR_DOC_PREFIX + ("",), dtype=np.str_)[level])
    document = _s(prefix, f"〔{year}〕", doc_no, "号")
    no_doc = rng.random(H) < 0.08
    document = np.where(no_doc, "", document)
    approved = rng.random(H) >= np.where(no_doc, 0.5, 0.08)
    day = y_start + rng.integers(60, 350, H)
    order = np.lexsort((day, hb))
    titles = np.array([t for t, _ in _HONORS], dtype=object)
    kinds = np.array([k for _, k in _HONORS], dtype=object)
    return {
        "branch_id": b["branch_id"].astype(object)[hb[order]], "title": titles[title_idx[order]],
        "kind": kinds[title_idx[order]], "level": np.asarray(HONOR_LEVELS, dtype=object)[level[order]],
        "document": document[order].astype(object), "date": _dates(day[order]), "approved": approved[order],
    }


def _incidents_table(rng, b: dict, m: dict, year: int) -> dict:
    n, cat, profile = b["n"], b["cat"], b["profile"]
    y_start = _day(f"{year}-01-01")
    discipline = rng.poisson(np.array([0.0, 0.015, 0.08, 0.3])[profile])
    petition = rng.poisson(np.array([0.0, 0.005, 0.05, 0.3])[profile] * (cat <= _COMMUNITY))
    if n >= 100 and petition.sum() == 0:  # at least one in a county
        petition[np.argsort(b["q"] + (cat > _COMMUNITY), kind="stable")[0]] = 1
    kinds = [np.repeat(np.arange(n), discipline), np.repeat(np.arange(n), petition)]
    kind_code = [np.full(discipline.sum(), INCIDENT_KINDS.index("纪律处分")),
                 np.full(petition.sum(), INCIDENT_KINDS.index("越级上访"))]
    day = [y_start + rng.integers(0, 360, discipline.sum()), y_start + rng.integers(0, 360, petition.sum())]
    if n >= 100:  # serious events that remove the rating, each in a different very weak or weak branch
        per_kind = max(1, n // 300)
        weakest = np.argsort(b["q"] + 0.15 * (cat != _RURAL) + rng.random(n) * 0.1, kind="stable")
        chosen = weakest[: 3 * per_kind]
        for i, kind in enumerate(("严重违纪违法", "群体性事件", "重大安全事故")):
            sel = chosen[i::3]
            kinds.append(sel)
            kind_code.append(np.full(len(sel), INCIDENT_KINDS.index(kind)))
            day.append(y_start + rng.integers(0, 360, len(sel)))
    if n >= 20:  # a discipline case of the previous year, to be ignored
        kinds.append(rng.integers(0, n, 1))
        kind_code.append(np.full(1, INCIDENT_KINDS.index("纪律处分")))
        day.append(np.full(1, _day(f"{year - 1}-11-20")))
    ib = np.concatenate(kinds)
    ik = np.concatenate(kind_code)
    idays = np.concatenate(day)
    order = np.lexsort((ik, idays, ib))
    ib, ik, idays = ib[order], ik[order], idays[order]
    who = m["name"][m["starts"][ib] + rng.integers(0, m["size"][ib])]
    committee_member = m["name"][m["starts"][ib] + 1 + rng.integers(0, m["committee"][ib] - 1)]
    note = np.select(
        [ik == INCIDENT_KINDS.index("纪律处分"), ik == INCIDENT_KINDS.index("越级上访"),
         ik == INCIDENT_KINDS.index("严重违纪违法")],
        [_s("党员", who, _pick(_DISCIPLINE_NOTES, rng.integers(0, 100, len(ib)))),
         _pick(_PETITION_NOTES, rng.integers(0, 100, len(ib))),
         _s("支部委员", committee_member, _SERIOUS_NOTES["严重违纪违法"])],
        np.where(ik == INCIDENT_KINDS.index("群体性事件"), _SERIOUS_NOTES["群体性事件"], _SERIOUS_NOTES["重大安全事故"]),
    )
    return {"branch_id": b["branch_id"].astype(object)[ib], "kind": np.asarray(INCIDENT_KINDS, dtype=object)[ik],
            "date": _dates(idays), "note": note.astype(object)}


def _inspections_table(rng, b: dict) -> dict:
    n, profile = b["n"], b["profile"]
    items = np.where(rng.random(n) < 0.08, 2, 3)
    ib = np.repeat(np.arange(n), items)
    it = _within(np.repeat(np.cumsum(items) - items, items))
    mu_of = np.array([1.9, 1.7, 1.35, 1.0]).__getitem__
    mu = mu_of(profile[ib])
    score = np.clip(np.rint((mu + rng.normal(0, 0.3, len(ib))) * 2) / 2, 0, 2)
    note = np.where(score <= 1.0, _pick(_INSPECTION_NOTES, it), "")
    item = _pick(_INSPECTION_ITEMS, it).astype(object)
    # the items of the other kinds of branch, drawn from a child stream so that the draws above (and the
    # tables generated after this one) are the same as before they existed
    cat = b["cat"]
    extra = np.array([len(_INSPECTION_EXTRA.get(int(c), ())) for c in range(7)])[cat]
    eb = np.repeat(np.arange(n), extra)
    ej = _within(np.repeat(np.cumsum(extra) - extra, extra))
    erng = rng.spawn(1)[0]
    escore = np.clip(np.rint((mu_of(profile[eb]) + erng.normal(0, 0.3, len(eb))) * 2) / 2, 0, 2)
    eitem = np.array([_INSPECTION_EXTRA[int(c)][j] for c, j in zip(cat[eb], ej)], dtype=object)
    order = np.argsort(np.concatenate([ib, eb]), kind="stable")
    ib_all = np.concatenate([ib, eb])[order]
    reviewer = np.concatenate([_pick(_REVIEWERS, b["parent"][ib] + it), _pick(_REVIEWERS, b["parent"][eb] + 3 + ej)])[order]
    return {"branch_id": b["branch_id"].astype(object)[ib_all], "item": np.concatenate([item, eitem])[order],
            "score": np.concatenate([score, escore])[order], "item_max": np.full(len(ib_all), _INSPECTION_ITEM_MAX),
            "reviewer": reviewer.astype(object),
            "note": np.concatenate([note.astype(object), np.full(len(eb), "", dtype=object)])[order]}


def _rectifications_table(rng, b: dict, year: int) -> dict:
    n, profile = b["n"], b["profile"]
    y_end = _day(f"{year}-12-31")
    count = np.select([profile == _MODEL, profile == _ORDINARY, profile == _WEAK],
                      [rng.integers(0, 2, n), rng.integers(0, 4, n), rng.integers(2, 5, n)], rng.integers(3, 5, n))
    rb = np.repeat(np.arange(n), count)
    j = _within(np.repeat(np.cumsum(count) - count, count))
    problem = _pick(_RECTIFICATION_PROBLEMS, rng.integers(0, 13, n)[rb] + j * 5)
    month = rng.integers(2, 12, len(rb))  # March .. December
    month_end = (np.arange(np.datetime64(f"{year}-02"), np.datetime64(f"{year + 1}-02"), dtype="datetime64[M]")
                 .astype("datetime64[D]").astype(np.int64) - 1)  # the last day of Jan..Dec
    due = np.where(rng.random(len(rb)) < 0.5, month_end[month], month_end[month - 1] + 15)
    p_on_time = np.array([1.0, 0.85, 0.65, 0.5])[profile[rb]]
    u = rng.random(len(rb))
    on_time = u < p_on_time
    late_day = due + rng.integers(5, 90, len(rb))
    late = ~on_time & (u < p_on_time + (1 - p_on_time) / 2) & (late_day <= y_end)
    closed = np.where(on_time, np.maximum(due - rng.integers(1, 60, len(rb)), _day(f"{year}-01-10")), late_day)
    return {"branch_id": b["branch_id"].astype(object)[rb], "problem": problem.astype(object),
            "due_date": _dates(due), "closed_date": _dates(closed, on_time | late)}


@hookimpl
def scoring_sample(n_branches: int, seed: int, year: int):
    return iter_county(n_branches, seed=seed, year=year, compact=True)
