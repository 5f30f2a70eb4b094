"""User-facing errors. Each carries Chinese text; the CLI prints it and exits without a traceback.

Exit codes follow the contract: DataError -> 1, RubricError and UsageError -> 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class DataProblem(str, Enum):
    """Why input data was refused: a stable code per kind of problem, like pandera's ``SchemaErrorReason``.

    Every :class:`Problem` in a :class:`DataError` carries one, so programs (lenient mode, tests, a web
    page) decide on the code and never on the Chinese sentence, which may be reworded.
    """

    # files and folders
    NO_DATA_FILES = "no_data_files"  # a folder without a single data file
    UNKNOWN_TABLE_FILE = "unknown_table_file"  # a CSV/Parquet file whose name is no table
    UNREADABLE_FILE = "unreadable_file"  # damaged, encrypted, empty, not what its suffix says
    UNREADABLE_SHEET = "unreadable_sheet"
    TOO_LARGE = "too_large"  # beyond a resource bound: zip bomb, a sheet's used range, a huge file
    UNKNOWN_WORKBOOK = "unknown_workbook"  # a workbook without a single sheet of a known table
    # sheets and columns
    MISSING_SHEET = "missing_sheet"  # a needed table no input provides
    HEADER_NOT_FOUND = "header_not_found"
    DUPLICATE_COLUMN = "duplicate_column"  # two columns of one sheet are the same column
    MISSING_COLUMN = "missing_column"  # a required column is absent
    # cells
    EMPTY_REQUIRED = "empty_required"  # a required cell is empty
    BAD_NUMBER = "bad_number"  # not a number
    NOT_INTEGER = "not_integer"  # a number with a fraction where a whole number is needed
    BAD_DATE = "bad_date"
    BAD_MONTH = "bad_month"
    BAD_ENUM = "bad_enum"  # not one of the allowed values
    BAD_BOOL = "bad_bool"  # not 是/否
    ERROR_CELL = "error_cell"  # an Excel error value: #N/A, #REF!, #DIV/0! ...
    TEXT_TOO_LONG = "text_too_long"  # more characters than an Excel cell holds
    OUT_OF_RANGE = "out_of_range"  # outside the column's plausible bounds (a negative count, a date in 2035)
    INCONSISTENT_VALUES = "inconsistent_values"  # columns of one record contradict each other (实到 > 应到)
    # records and tables
    DUPLICATE_KEY = "duplicate_key"
    UNKNOWN_REFERENCE = "unknown_reference"  # a 支部编码/党员编号 that the referenced table does not list
    INCONSISTENT_REFERENCE = "inconsistent_reference"  # a member's record names another branch than the roster
    CONFLICTING_FILES = "conflicting_files"  # one branch's records of one table in several files
    BRANCH_WITHOUT_RECORDS = "branch_without_records"  # listed in 支部信息, no record anywhere else
    NO_BRANCHES = "no_branches"  # 支部信息 holds no branch at all
    WRONG_YEAR = "wrong_year"  # a dated table with records, none of them in the assessment year

    @property
    def of_record(self) -> bool:
        """Whether a problem of this kind is located in one record (so lenient mode may attribute it to a
        branch), as opposed to a file, sheet or column."""
        return self in _RECORD_PROBLEMS


_RECORD_PROBLEMS = frozenset({
    DataProblem.EMPTY_REQUIRED, DataProblem.BAD_NUMBER, DataProblem.NOT_INTEGER, DataProblem.BAD_DATE,
    DataProblem.BAD_MONTH, DataProblem.BAD_ENUM, DataProblem.BAD_BOOL, DataProblem.ERROR_CELL,
    DataProblem.TEXT_TOO_LONG, DataProblem.OUT_OF_RANGE, DataProblem.INCONSISTENT_VALUES, DataProblem.DUPLICATE_KEY,
    DataProblem.UNKNOWN_REFERENCE, DataProblem.INCONSISTENT_REFERENCE, DataProblem.CONFLICTING_FILES,
    DataProblem.BRANCH_WITHOUT_RECORDS,
})


class DataNote(str, Enum):
    """What the reader tolerated, corrected or skipped (``Dataset.notes``): one code per kind of note."""

    LOCK_FILE = "lock_file"  # ~$x.xlsx beside an open workbook
    HIDDEN = "hidden"  # hidden or system file or folder
    SUBDIR = "subdir"  # a folder inside a data folder
    NOT_REGULAR = "not_regular"  # a named pipe, device or socket in a data folder
    OTHER_FILE = "other_file"  # not a data file (说明.docx)
    UNKNOWN_FILE = "unknown_file"  # a CSV/Parquet file in a folder whose name is no table
    ENCODING = "encoding"  # a CSV file read as GB18030
    CONTINUED_SHEET = "continued_sheet"  # 党费交纳2 read as part of 党费交纳
    UNKNOWN_SHEET = "unknown_sheet"
    UNKNOWN_WORKBOOK = "unknown_workbook"  # a workbook in a folder without any known sheet, skipped
    TITLE_ROWS = "title_rows"  # rows above the header skipped
    UNKNOWN_COLUMN = "unknown_column"
    UNNAMED_COLUMN = "unnamed_column"  # content under an empty header cell ignored
    IDENTICAL_ROWS = "identical_rows"  # the same record twice in a table without key
    UNCHECKED = "unchecked"  # a reference not checked because the referenced table is absent
    SPACES = "spaces"  # surrounding spaces stripped
    FULLWIDTH = "fullwidth"  # full-width digits converted
    THOUSANDS = "thousands"  # thousands separators removed
    NUMBER_DATE = "number_date"  # a number read as a date
    TEXT_DATE = "text_date"  # a text read as a date
    MONTH_FORMAT = "month_format"  # a month rewritten as YYYY-MM
    NO_RECORD_IN_YEAR = "no_record_in_year"  # a branch without any dated record in the assessment year


@dataclass(frozen=True)
class Problem:
    """One located problem in the input data (or, in ``Dataset.notes``, one note).

    ``row`` is the 1-based row number as the user sees it in Excel (header row included), or the line
    number in a CSV file; ``None`` when the problem concerns a whole sheet or column. ``code`` says what
    kind of problem it is (:class:`DataProblem`, or :class:`DataNote` for a note); it is not part of
    equality, which is about where the problem is and what it says.
    """

    file: str
    sheet: str | None
    row: int | None
    column: str | None  # the header as the user wrote it (Chinese where the sheet is Chinese)
    message: str
    code: DataProblem | DataNote | None = field(default=None, compare=False)

    def location(self) -> str:
        where = ""
        if self.sheet:
            where += f"工作表「{self.sheet}」"
        if self.row is not None:
            where += f"第{self.row}行"
        if self.column:
            where += f"「{self.column}」列"
        return f"{self.file} {where}" if where else self.file

    def __str__(self) -> str:
        return f"{self.location()}：{self.message}"

    def sort_key(self):
        return (self.file, self.sheet or "", self.row if self.row is not None else -1, self.column or "", self.message)


class ScoringError(Exception):
    exit_code = 2


class DataError(ScoringError):
    """The data had errors; every problem is listed. Nothing is written."""

    exit_code = 1

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=Problem.sort_key)
        super().__init__(self.render())

    def render(self, limit: int | None = None) -> str:
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [f"数据有 {len(self.problems)} 处问题，未生成任何结果文件："]
        lines += [f"  {i}. {p}" for i, p in enumerate(shown, 1)]
        if limit is not None and len(self.problems) > limit:
            lines.append(f"  …… 另有 {len(self.problems) - limit} 处问题未列出")
        return "\n".join(lines)


class RubricCode(str, Enum):
    """Why a rubric was refused: a stable code per kind of mistake (like :class:`DataProblem`), so programs
    and tests decide on the code and never on the Chinese sentence."""

    UNREADABLE_FILE = "unreadable_file"  # not a regular file, unreadable, far too large
    NOT_TEXT = "not_text"  # a workbook or binary file renamed .toml
    ENCODING = "encoding"  # GBK, UTF-16: not UTF-8
    TOML_SYNTAX = "toml_syntax"  # not valid TOML (15% instead of 0.15 included), absurd nesting
    NOT_FOUND = "not_found"  # no such file and no built-in rubric of that name
    EXTENDS = "extends"  # extends: not a name, unknown parent, a cycle
    SCHEMA = "schema"  # unknown key, wrong type, value out of range, a missing key (the model)
    DUPLICATE_ID = "duplicate_id"  # an id twice in a file, or added again after extends
    UNKNOWN_MEASURE = "unknown_measure"  # a measure no plugin provides
    UNKNOWN_PARAMETER = "unknown_parameter"  # a parameter the measure does not have
    UNKNOWN_VALUE = "unknown_value"  # an enumeration value, category, level or claim kind that does not exist
    UNKNOWN_REFERENCE = "unknown_reference"  # an indicator, dimension or tie-break key that does not exist
    WRONG_MEASURE_KIND = "wrong_measure_kind"  # a claims measure outside the bonus block or the reverse
    INCONSISTENT = "inconsistent"  # sums, orders and memberships that contradict each other
    RULE = "rule"  # a rule's own check: full marks it can never give, steps out of order
    PLUGIN_LOCATION = "plugin_location"  # a local plugin outside the rubric's folder


class RubricProblem(str):
    """One message of a :class:`RubricError`: the Chinese text (a ``str``, so it reads and compares as one)
    with its :class:`RubricCode` in ``code``."""

    code: RubricCode | None

    def __new__(cls, code: RubricCode | None, text: str) -> "RubricProblem":
        obj = super().__new__(cls, text)
        obj.code = code
        return obj

    def __reduce__(self):  # pickled with its code (a Dask worker sends its errors back to the driver)
        return (RubricProblem, (self.code, str(self)))


def located(prefix: str, problem: str) -> RubricProblem:
    """``prefix: problem`` keeping the problem's code (a plain string has none)."""
    return RubricProblem(getattr(problem, "code", None), f"{prefix}: {problem}")


class RubricError(ScoringError):
    """The rubric is invalid. Messages read like ``rubrics/x.toml: dimension[1].indicator[3].rule.deduct: 必须大于 0``;
    each is a :class:`RubricProblem` with its code where the engine made it (``codes`` lists them)."""

    exit_code = 2

    def __init__(self, messages: list[str]):
        self.messages = list(messages)
        super().__init__(self.render())

    @property
    def codes(self) -> list[RubricCode | None]:
        return [getattr(m, "code", None) for m in self.messages]

    def render(self) -> str:
        head = f"评分标准有 {len(self.messages)} 处错误：" if len(self.messages) > 1 else "评分标准有错误："
        return "\n".join([head] + [f"  {m}" for m in self.messages])


class UsageError(ScoringError):
    """A command-line mistake (missing file, unknown option value, output would overwrite an input)."""

    exit_code = 2


class PluginError(ScoringError):
    """A plugin is broken (bad hook, duplicate measure id, crashed while measuring)."""

    exit_code = 2
