"""User-facing errors. Each carries Chinese text; the CLI prints it and exits without a traceback.

Exit codes follow the contract: DataError -> 1, RubricError and UsageError -> 2.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One located problem in the input data.

    ``row`` is the 1-based row number as the user sees it in Excel (header row included), or the line
    number in a CSV file; ``None`` when the problem concerns a whole sheet or column.
    """

    file: str
    sheet: str | None
    row: int | None
    column: str | None  # the header as the user wrote it (Chinese where the sheet is Chinese)
    message: str

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


class RubricError(ScoringError):
    """The rubric is invalid. Messages read like ``rubrics/x.toml: dimension[1].indicator[3].rule.deduct: 必须大于 0``."""

    exit_code = 2

    def __init__(self, messages: list[str]):
        self.messages = list(messages)
        super().__init__(self.render())

    def render(self) -> str:
        head = f"评分标准有 {len(self.messages)} 处错误：" if len(self.messages) > 1 else "评分标准有错误："
        return "\n".join([head] + [f"  {m}" for m in self.messages])


class UsageError(ScoringError):
    """A command-line mistake (missing file, unknown option value, output would overwrite an input)."""

    exit_code = 2


class PluginError(ScoringError):
    """A plugin is broken (bad hook, duplicate measure id, crashed while measuring)."""

    exit_code = 2
