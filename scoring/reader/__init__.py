"""Read and validate the input records into a :class:`~scoring.dataset.Dataset`.

Inputs (any number, in any mix):

* an ``.xlsx``/``.xlsm`` workbook (also ``.xls``, ``.xlsb``, ``.ods``), one sheet per table;
* a directory holding CSV and/or Parquet files (one file per table, named by table id or Chinese sheet
  name: ``members.csv`` or ``党员名册.csv``) and/or workbooks (for example one workbook per branch);
* a single CSV or Parquet file named like a table.

The same table found in several places (several workbooks of a folder, several paths) is concatenated.
A county committee merges ~300 branch workbooks plus its own, so the merge is checked: one branch's
records of one table coming from two files (东岗村's 组织生活记录 in 东岗村.xlsx and again in 西岭村.xlsx or
in the committee workbook) is a conflict, reported once per table, branch and extra file at the branch's
first row in that file (the branch's own workbook, the one holding its 支部信息 row, counts as the first
whatever the file order); a branch listed in 支部信息 without a single record in any other table read is
a problem too (its workbook was probably never received). In a folder, files that are not data (说明.docx,
a PDF) are skipped with a note, and so are hidden files and Excel's lock files (``~$东岗村.xlsx``); a
workbook that cannot be opened is a problem.

Validation is lazy, in the spirit of pandera's lazy mode: every problem in every file is collected as a
located :class:`~scoring.errors.Problem` (file, sheet, row, column as the user wrote it) and raised at
the end in one :class:`~scoring.errors.DataError`. Repetitive problems are capped per column and sheet
(the first ``MAX_LISTED`` and one summary line). What was tolerated and corrected (title rows skipped,
full-width digits converted, text dates parsed, unknown columns ignored, stray spaces stripped) is
summarized per column in ``Dataset.notes``.

Lenient mode (``read_dataset(..., lenient=True)``) lets a county run go ahead while a few branches fix
their workbooks. Every problem located in a record is attributed to a branch: the record's 支部编码, or,
where that is empty or unknown, the branch of the member the record names (党员编号 in 党费交纳, 学习培训,
民主评议结果); a conflict and a branch without records belong to their branch. When every problem is
attributed, the branches concerned are removed from every table (支部信息 included) and listed in
``Dataset.excluded`` with their located problems as reasons, so nothing is dropped silently. Problems that
belong to no branch (a missing sheet or required column, an unreadable file, a bad 支部编码 cell itself)
still raise, listing every problem. In lenient mode the cap on repeated problems applies per branch, so
each excluded branch has its own problems listed.

Row numbers are what the user sees: the 1-based Excel row (title and header rows included) or the CSV
line number (header on line 1). Parquet has no rows to look at; its records are numbered as if the file
were a CSV (first record = 2).

Conversion is vectorized over whole columns. Text is parsed once per distinct value (dates, months,
booleans and numbers repeat a lot), so a column of a million dates costs about as much as its few
hundred distinct values. Excel is read with python-calamine directly (no pandas parser in between),
which leaves the run dominated by calamine's own parse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..dataset import Dataset, empty_excluded
from ..errors import DataError, PluginError, UsageError
from ..tables import Table
from .assemble import assemble
from .checks import check_keys, check_needed, check_references
from .conflicts import check_branches_have_records, check_conflicts
from .convert import _convert
from .cells import _split
from .discovery import CSV_SUFFIXES, EXCEL_SUFFIXES, PARQUET_SUFFIXES, add_path
from .intake import MAX_LISTED, Intake
from .lenient import exclude, row_branches
from .plausible import check_plausible
from .split import NotSplit, Split

__all__ = ["read_dataset", "EXCEL_SUFFIXES", "CSV_SUFFIXES", "PARQUET_SUFFIXES", "MAX_LISTED", "_convert", "_split"]


def read_dataset(paths: Sequence[Path], specs: Mapping[str, Table], needed: Iterable[str], timer=None, *,
                 lenient: bool = False, year: int | None = None,
                 columns: Mapping[str, Iterable[str]] | None = None, split: Split | None = None) -> Dataset:
    """Read every input, validate it against ``specs`` and return the typed tables.

    ``needed`` names the tables the rubric's measures read ("branches" is always needed); a needed table
    that no input provides is a problem. Tables that are present but not needed are read and validated
    too. Raises :class:`DataError` listing every problem when anything is wrong, :class:`UsageError`
    when a path does not exist or is not a data file, :class:`PluginError` when ``needed`` names a table
    no spec defines.

    With ``lenient`` the problems that belong to a branch do not stop the run: that branch's records are
    removed from every table and the branch is listed in ``Dataset.excluded`` (branch_id, name, parent,
    category, reasons). DataError is still raised, listing every problem, when some problem belongs to no
    branch.

    ``year`` is the assessment year: dates that cannot lie after its end (``Column.not_after_year``) are
    checked against it. Every value is checked against its column's bounds and its table's rules across
    columns (:mod:`scoring.reader.plausible`).

    ``columns`` (table id -> column ids, the union of the measures' ``Measure.inputs``) limits what is read
    of the tables it names to those columns plus the ones the checks need (:func:`columns_to_read`): the
    other columns are not read from a Parquet file, not converted nor checked for any format, and are not
    in the returned tables; their headers are still matched (a missing required column is still a problem).
    支部信息 and tables it does not name are read whole. Without ``columns`` every column is read.

    ``split`` (a :class:`~scoring.reader.split.Split`) reads one block of branches (:mod:`scoring.reader.split`):
    the tables hold the records of that block's branches, 支部信息 included, and the split its notes.
    Raises :class:`~scoring.reader.split.NotSplit` instead of DataError, and wherever a split read might
    not give what the whole read gives; ``lenient`` is then left to the whole read.
    """
    specs = dict(specs)
    if isinstance(paths, (str, Path)):
        paths = [paths]
    wanted = set(needed) | {"branches"}
    unknown = sorted(t for t in wanted if t not in specs)
    if unknown:
        raise PluginError(f"测量项需要的表没有定义：{'、'.join(unknown)}")
    if not paths:
        raise UsageError("没有指定输入数据（工作簿、CSV/Parquet 文件夹或工作簿文件夹）")
    timer = timer or _no_timer
    ix = Intake(specs)
    ix.wanted = wanted
    if columns is not None:
        ix.keep = columns_to_read(specs, columns)
    with timer("read"):
        for p in paths:
            add_path(ix, Path(p))
    excluded, excluded_problems = empty_excluded(), {}
    with timer("validate"):
        tables, origins = assemble(ix, split)
        if split is not None:
            split.check_orphans(ix, tables)
        check_plausible(ix, tables, year)
        check_keys(ix, tables)
        check_references(ix, tables)
        check_conflicts(ix, tables, origins)
        check_branches_have_records(ix, tables, None if split is None else split.block)
        codes = {k: (tables[k[0]], *v) for k, v in ix.codes.items()}
        looked_up = {k: (tables[k[0]], tables[k[2]], v) for k, v in ix.looked_up.items()}
        ix.drop_codes()
        check_needed(ix, wanted, tables, [Path(p) for p in paths])
        if split is not None:
            if ix.problems or ix.pending:
                raise NotSplit("the input has problems")
            split.notes = list(ix.notes)
            tables["branches"] = tables["branches"][split.block].reset_index(drop=True)
            origins["branches"] = origins["branches"][split.block].reset_index(drop=True)
        owners = row_branches(ix, tables) if lenient and ix.pending else None
        ix.flush(owners)
        resolved = owners is not None and ix.attributed()
        if resolved:
            tables, origins, excluded, excluded_problems = exclude(ix, tables, origins, owners)
    if ix.problems and not resolved:
        raise DataError(ix.problems)
    return Dataset(
        tables=tables,
        specs=specs,
        sources=list(ix.sources),
        notes=ix.final_notes(),
        origins=origins,
        excluded=excluded,
        excluded_problems=excluded_problems,
        codes={} if resolved else codes,
        looked_up={} if resolved else looked_up,
    )


def columns_to_read(specs: Mapping[str, Table], columns: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Per table named in ``columns`` (except 支部信息), the columns to read: those named, the table's key,
    its references and the columns they point to in it, the columns of its rules across columns, and the
    column placing its records in a year."""
    referenced: dict[str, set[str]] = {}
    for spec in specs.values():
        for fk in spec.foreign_keys:
            referenced.setdefault(fk.table, set()).add(fk.target)
    out = {}
    for tid, cols in columns.items():
        spec = specs.get(tid)
        if spec is None or tid == "branches":
            continue
        keep = set(cols) | set(spec.key) | {fk.column for fk in spec.foreign_keys} | referenced.get(tid, set())
        for rule in spec.checks:
            keep |= {*rule.left, *rule.right}
        if spec.year_column:
            keep.add(spec.year_column)
        out[tid] = frozenset(keep & set(spec.column_ids))
    return out


class _NoPhase:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _no_timer(_name: str) -> _NoPhase:
    """Stands in for :class:`scoring.engine.Timer` when the caller does not time phases."""
    return _NoPhase()
