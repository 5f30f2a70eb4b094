"""Hardening, resource bounds on input: a zip bomb (declared sizes, a ratio no spreadsheet has, or sizes
that lie), a sheet whose used range reaches XFD1048576 (calamine would allocate 512 GB and abort), a
named pipe or device in a data folder (it would block forever), huge CSV/Parquet files and huge strings.
Each is refused or skipped naming the file; the bomb and far-corner runs are subprocesses under a memory
limit that finish in seconds."""

from __future__ import annotations

import os
import re
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pandas as pd
import pytest

from hardening_util import assert_clean_refusal, cli, cli_process, county_workbook
from scoring.errors import DataError, DataNote, DataProblem
from scoring.reader import read_dataset
from scoring.reader import limits
from plugins.sample_county import builtin_table_map

SPECS = builtin_table_map()
SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    return county_workbook(tmp_path_factory.mktemp("county"))


def _parts(book: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(book) as z:
        return {n: z.read(n) for n in z.namelist()}


def _write_zip(path: Path, entries: list[tuple[str, bytes, int, int]]) -> Path:
    """A zip archive written by hand: (name, raw deflate data, crc32, declared uncompressed size)."""
    local, central, offset = b"", b"", 0
    for name, data, crc, size in entries:
        n = name.encode()
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(n), 0) + n
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size,
                               len(n), 0, 0, 0, 0, 0, offset) + n
        local += header + data
        offset += len(header) + len(data)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), offset, 0)
    path.write_bytes(local + central + end)
    return path


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _bomb(path: Path, template: Path, size: int, declared: int | None = None) -> Path:
    """The template workbook with its first sheet replaced by ``size`` bytes of rows, compressed about
    1000 times (one full-flushed deflate block repeated, so the test builds it in milliseconds)."""
    head = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    tail = b"</sheetData></worksheet>"
    block = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 20000
    repeat = (size - len(head) - len(tail)) // len(block)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    middle = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    last = c.compress(tail) + c.flush()
    crc = zlib.crc32(head)
    for _ in range(repeat):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    total = len(head) + repeat * len(block) + len(tail)
    entries = [(SHEET, first + middle * repeat + last, crc, total if declared is None else declared)]
    entries += [(n, _deflate(d), zlib.crc32(d), len(d)) for n, d in _parts(template).items() if n != SHEET]
    return _write_zip(path, entries)


def _rewrite_sheet(book: Path, out: Path, edit) -> Path:
    return _with_parts_edited(book, out, {SHEET: edit})


def _with_parts_edited(book: Path, out: Path, edits: dict[str, object]) -> Path:
    """The workbook with the text of the named parts edited."""
    parts = _parts(book)
    for name, edit in edits.items():
        parts[name] = edit(parts[name].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts.items():
            z.writestr(n, d)
    return out


def test_zip_declaring_more_than_the_bound_is_refused(tmp_path, county, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TOTAL_BYTES", 64 << 10)  # the bound is a constant: shrink it for the test
    with pytest.raises(DataError) as e:
        read_dataset([county], SPECS, ())
    with zipfile.ZipFile(county) as z:
        total = sum(i.file_size for i in z.infolist())
    p = e.value.problems[0]
    assert (p.file, p.code) == (str(county), DataProblem.TOO_LARGE)
    shown = f"{total / (1 << 20):,.0f} MB" if total >= 1 << 20 else f"{total:,} 字节"
    assert p.message == f"无法读取工作簿：工作簿解压后共有 {shown}，超过可读取的上限 65,536 字节；请把数据分成几个工作簿"


def _far(county: Path, out: Path, row: int, cell: str) -> Path:
    return _rewrite_sheet(county, out, lambda s: s.replace("</sheetData>", f'<row r="{row}">{cell}</row></sheetData>'))


def test_bombs_and_a_far_corner_are_refused_under_a_memory_limit_in_seconds(tmp_path, county):
    """One run under a 1 GB address-space limit with three hostile workbooks: a zip bomb by ratio (300 MB
    of rows in a few hundred kilobytes), the same bomb declaring 4 KB, and a sheet with a cell at
    XFD1048576 (calamine alone would allocate 512 GB and abort). Each is refused by name; nothing is
    written."""
    folder = tmp_path / "data"
    folder.mkdir()
    bomb = _bomb(folder / "bomb.xlsx", county, 300 << 20)
    assert bomb.stat().st_size < 1 << 20
    liar = _bomb(folder / "liar.xlsx", county, 300 << 20, declared=4096)
    far = _far(county, folder / "far.xlsx", 1048576, '<c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c>')
    t = time.perf_counter()
    p = cli_process("run", bomb, liar, far, "-o", "r.xlsx", "--json", "r.json", cwd=tmp_path)
    assert time.perf_counter() - t < 30
    assert_clean_refusal(p.returncode, p.stderr, 1,
                         f"{bomb}：无法读取工作簿：工作簿中的「{SHEET}」压缩比异常", "不像是正常的表格文件，已拒绝读取",
                         f"{liar}：无法读取工作簿：工作簿已损坏（「{SHEET}」无法解压：BadZipFile），请用 Excel 打开后重新保存",
                         f"{far}：无法读取工作簿：工作表「支部信息」的已用区域为 A1:XFD1048576（1,048,576行 × 16,384列），"
                         "超出可读取的范围（最多 25,000,000 个单元格）；请删除表格右侧和下方多余的行和列（含只有空格的单元格）后重新保存",
                         folder=tmp_path, absent=[tmp_path / "r.xlsx", tmp_path / "r.json"])
    assert p.stdout == "" and sorted(q.name for q in folder.iterdir()) == ["bomb.xlsx", "far.xlsx", "liar.xlsx"]


def test_a_cell_far_out_in_a_row_that_says_otherwise(tmp_path, county):
    # the row element claims row 3; calamine places the cell by its own reference
    far = _far(county, tmp_path / "liar.xlsx", 3, '<c r="AMJ900000"><v>1</v></c>')
    with pytest.raises(DataError) as e:
        read_dataset([far], SPECS, ())
    assert e.value.problems[0].code is DataProblem.TOO_LARGE
    assert "已用区域为 A1:AMJ900000（900,000行 × 1,024列）" in e.value.problems[0].message


def test_far_empty_formatted_cell_is_no_problem(tmp_path, county):
    # a self-closing cell has no content: calamine leaves it out, and so does the bound
    far = _rewrite_sheet(county, tmp_path / "styled.xlsx",
                         lambda s: s.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576" s="0"/></row></sheetData>'))
    ds = read_dataset([far], SPECS, ())
    assert len(ds.tables["branches"]) == 4


def test_scan_finds_the_used_range_and_error_cells(tmp_path, county):
    scan = limits.scan_workbook(county)
    sheet = scan.sheets["支部信息"]
    assert (sheet.first_row, sheet.first_column, sheet.rows, sheet.columns) == (1, 1, 5, 9)
    assert sheet.errors == {}
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    assert limits.scan_workbook(old) is None  # not a zip archive: calamine reads (or explains) it


def test_named_pipe_in_a_data_folder_is_skipped_with_a_note(tmp_path, county):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "county.xlsx").write_bytes(county.read_bytes())
    os.mkfifo(folder / "党员名册.csv")  # opening it would block until someone writes
    (folder / "dead.xlsx").symlink_to(tmp_path / "gone.xlsx")
    ds = read_dataset([folder], SPECS, ())
    notes = {(Path(n.file).name, n.code, n.message) for n in ds.notes}
    assert ("党员名册.csv", DataNote.NOT_REGULAR, "「党员名册.csv」不是普通文件（命名管道、设备或无效的链接），已跳过") in notes
    assert ("dead.xlsx", DataNote.NOT_REGULAR, "「dead.xlsx」不是普通文件（命名管道、设备或无效的链接），已跳过") in notes
    assert len(ds.tables["members"]) > 0


def test_named_pipe_or_device_given_as_data_is_a_usage_error(tmp_path):
    fifo = tmp_path / "data.xlsx"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        rc, out, err = cli("run", path, "-o", "r.xlsx", cwd=tmp_path)
        assert_clean_refusal(rc, err, 2, f"输入 {path} 不是普通文件（命名管道、设备等），无法作为数据读取",
                             folder=tmp_path, absent=[tmp_path / "r.xlsx"])


def test_huge_csv_and_parquet_are_refused_by_size(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_CSV_BYTES", 1000)
    monkeypatch.setattr(limits, "MAX_PARQUET_BYTES", 1000)
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "branches.csv").write_text("branch_id,name\n" + "X,甲\n" * 500, encoding="utf-8")
    pd.DataFrame({"member_id": [f"M{i}" for i in range(500)]}).to_parquet(folder / "members.parquet")
    with pytest.raises(DataError) as e:
        read_dataset([folder], SPECS, ())
    found = {(Path(p.file).name, p.code, p.message) for p in e.value.problems}
    size = (folder / "branches.csv").stat().st_size
    assert ("branches.csv", DataProblem.TOO_LARGE, f"无法读取文件：CSV 文件有 {size:,} 字节，超过可读取的上限 1,000 字节；"
            "请把数据分成几个文件，或保存为 Parquet 格式") in found
    assert any(f == "members.parquet" and c is DataProblem.TOO_LARGE for f, c, _ in found)


def test_huge_strings_are_refused_and_cut_in_the_message(tmp_path, county):
    folder = tmp_path / "csv"
    folder.mkdir()
    branches = pd.read_excel(county, sheet_name="支部信息", dtype=str, engine="openpyxl")
    branches.loc[0, "支部名称"] = "东" * 40000
    branches.loc[1, "自评分"] = "9" * 100000
    branches.to_csv(folder / "支部信息.csv", index=False)
    rc, out, err = cli("run", folder, "-o", "r.xlsx", cwd=tmp_path)
    assert_clean_refusal(rc, err, 1, f"{folder / '支部信息.csv'} 第2行「支部名称」列：单元格内容有40,000个字符，超过一个单元格的上限"
                                     "32,767个字符（是否误粘贴了整段文字？）", folder=tmp_path, absent=[tmp_path / "r.xlsx"])
    assert "第3行「自评分」列：单元格内容有100,000个字符" in err
    assert len(err) < 5000  # no value is printed whole


def test_cells_without_references_are_bounded_by_rows_and_the_widest_row(tmp_path, county, monkeypatch):
    # <c> without r= is placed after the previous cell: 20 of them in one row, then 100 rows of one each
    monkeypatch.setattr(limits, "MAX_CELLS", 1000)
    rows = "<row>" + "<c><v>1</v></c>" * 20 + "</row>" + "<row><c><v>1</v></c></row>" * 100
    book = _rewrite_sheet(county, tmp_path / "implicit.xlsx", lambda s: s.replace("</sheetData>", rows + "</sheetData>"))
    with zipfile.ZipFile(county) as z:
        before = len(re.findall(r"<row[ >/]", z.read(SHEET).decode("utf-8")))
    with pytest.raises(DataError) as e:
        read_dataset([book], SPECS, ())
    p = e.value.problems[0]
    assert p.code is DataProblem.TOO_LARGE
    assert f"已用区域为 A1:T{before + 101}（{before + 101:,}行 × 20列）" in p.message, p.message


def _spy_calamine(monkeypatch) -> list[str]:
    """The sheets calamine parses from now on, in order."""
    import python_calamine

    real = python_calamine.CalamineWorkbook
    parsed: list[str] = []

    class Spy:
        def __init__(self, wb):
            self.wb = wb
            self.sheets_metadata = wb.sheets_metadata

        @classmethod
        def from_path(cls, path):
            return cls(real.from_path(path))

        def get_sheet_by_name(self, name):
            parsed.append(name)
            return self.wb.get_sheet_by_name(name)

        def close(self):
            self.wb.close()

    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Spy)
    return parsed


def test_a_far_corner_in_a_later_sheet_is_never_parsed_and_nothing_of_the_workbook_is_used(tmp_path, county,
                                                                                           monkeypatch):
    """The worksheets are scanned on a thread while calamine parses the ones before. A far corner in the
    third and in the fifth sheet: calamine parses the first two sheets at most, never a refused one, and the
    workbook is refused with the third sheet's extent alone (the first problem in the archive's order, as a
    scan of the whole file before parsing gives it), not one record, note or other problem of it."""
    with zipfile.ZipFile(county) as z:
        names = limits._sheet_parts(z)
    third, fifth = "xl/worksheets/sheet3.xml", "xl/worksheets/sheet5.xml"
    corner = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    far = _with_parts_edited(county, tmp_path / "far.xlsx", {
        "xl/worksheets/sheet2.xml": lambda s: s.replace("<t>", "<t> ", 3),  # spaces: a note, were it read
        third: lambda s: s.replace("</sheetData>", corner),
        fifth: lambda s: s.replace("</sheetData>", corner)})
    with pytest.raises(limits.Refused) as whole:
        limits.scan_workbook(far)
    assert f"工作表「{names[third]}」的已用区域为 A1:XFD1048576" in str(whole.value)
    parsed = _spy_calamine(monkeypatch)
    with pytest.raises(DataError) as e:
        read_dataset([far], SPECS, ())
    assert [(p.code, p.message) for p in e.value.problems] == [  # 支部信息 is always needed: none was read
        (DataProblem.TOO_LARGE, f"无法读取工作簿：{whole.value}"), (DataProblem.MISSING_SHEET, "缺少工作表「支部信息」")]
    assert set(parsed) <= {names["xl/worksheets/sheet1.xml"], names["xl/worksheets/sheet2.xml"]}
    assert names[third] not in parsed and names[fifth] not in parsed
    parsed.clear()
    ds = read_dataset([county], SPECS, ())  # the same workbook without the corners: every sheet, in order
    assert parsed == list(names.values()) and len(ds.tables["branches"]) == 4
