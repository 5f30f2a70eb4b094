"""Hardening, rubric files as people save them: GBK/ANSI (Chinese Windows Notepad), UTF-16, a workbook
renamed .toml, binary content, absurd nesting, a huge file — each a located Chinese error (exit 2), no
traceback, nothing written. A UTF-8 BOM (Notepad's "UTF-8 with BOM") is read like plain UTF-8."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardening_util import assert_clean_refusal, cli
from scoring.rubric import MAX_NESTING, builtin_rubric_path

FIVE_STAR = builtin_rubric_path("five_star").read_text(encoding="utf-8")
CUSTOM = 'extends = "five_star"\nid = "county"\nname = "示例县星级评定标准"\n'


@pytest.mark.parametrize("command", [("rubric", "check"), ("rubric", "show")])
def test_gbk_rubric_names_the_first_line_that_is_not_utf8(tmp_path, command):
    path = tmp_path / "本县.toml"
    path.write_bytes(CUSTOM.encode("gb18030"))
    rc, out, err = cli(*command, path, cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, f"{path}: 第3行第9列（「name = \"示例县星级评定标准\"」）：文件是 GBK/ANSI 编码"
                                     "（中文 Windows 记事本的默认编码），不是 UTF-8；评分标准必须是 UTF-8 编码："
                                     "请用记事本打开，“另存为”时编码选“UTF-8”", folder=tmp_path)
    assert out == ""


def test_gbk_parent_of_an_extending_rubric_is_named(tmp_path):
    (tmp_path / "base.toml").write_bytes(FIVE_STAR.encode("gb18030"))
    child = tmp_path / "child.toml"
    child.write_text('extends = "base.toml"\nid = "c"\nname = "子标准"\n', encoding="utf-8")
    rc, _, err = cli("rubric", "check", child, cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, "base.toml: 第1行", "GBK/ANSI 编码", folder=tmp_path)


def test_run_with_a_gbk_rubric_writes_nothing(tmp_path):
    path = tmp_path / "r.toml"
    path.write_bytes(CUSTOM.encode("gb18030"))
    (tmp_path / "data.xlsx").write_bytes(b"")  # never read: the rubric is refused first
    rc, _, err = cli("run", "data.xlsx", "-r", path, "-o", "out.xlsx", "--json", "out.json", cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, "GBK/ANSI 编码", folder=tmp_path,
                         absent=[tmp_path / "out.xlsx", tmp_path / "out.json"])


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + FIVE_STAR.encode("utf-8"))
    rc, out, err = cli("rubric", "check", path, cwd=tmp_path)
    assert rc == 0 and err == "" and out.startswith(f"评分标准有效：{path}")


def test_utf16_rubric(tmp_path):
    path = tmp_path / "u.toml"
    path.write_bytes(CUSTOM.encode("utf-16"))
    rc, _, err = cli("rubric", "check", path, cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, f"{path}: 文件是 UTF-16 编码（记事本中的“Unicode”），评分标准必须是 UTF-8 编码",
                         folder=tmp_path)


@pytest.mark.parametrize("content, kind", [
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "文件是Excel 工作簿（.xlsx）或压缩文件，不是文本格式的评分标准"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "文件是旧版 Excel（.xls）或 Word 文件，不是文本格式的评分标准"),
    (b"%PDF-1.7\n" + bytes(50), "文件是PDF 文件"),
    (b'id = "x"\x00\x01\x02\x03', "文件含有二进制内容，不是文本格式的评分标准"),
])
def test_binary_file_renamed_toml(tmp_path, content, kind):
    path = tmp_path / "x.toml"
    path.write_bytes(content)
    rc, _, err = cli("rubric", "check", path, cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, f"{path}: {kind}", folder=tmp_path)


@pytest.mark.parametrize("text", [
    "a = " + "[" * 5000 + "]" * 5000,  # recursion inside the TOML parser
    "a" + ".b" * 3000 + " = 1",  # parses, but would overflow every recursive walk after it
    "a = " + "[" * (MAX_NESTING + 1) + "1" + "]" * (MAX_NESTING + 1),
])
def test_absurdly_deep_nesting(tmp_path, text):
    path = tmp_path / "deep.toml"
    path.write_text(text, encoding="utf-8")
    rc, _, err = cli("rubric", "check", path, cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, f"{path}: 嵌套层数过多（数组或表的嵌套超过{MAX_NESTING}层），不像是评分标准",
                         folder=tmp_path)


def test_huge_file(tmp_path):
    path = tmp_path / "big.toml"
    path.write_bytes(b"# " + b"x" * (5 << 20) + b"\n")
    rc, _, err = cli("rubric", "check", path, cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, f"{path}: 文件有 5,242,883 字节，不像是评分标准", folder=tmp_path)


def test_syntax_error_keeps_its_location(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('id = "x"\nname = 示例\n', encoding="utf-8")
    rc, _, err = cli("rubric", "check", path, cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, f"{path}: TOML 语法错误：第2行第8列：值无效", folder=tmp_path)


def test_schema_into_a_missing_folder_is_a_usage_error(tmp_path):
    rc, out, err = cli("rubric", "schema", "-o", tmp_path / "nope" / "schema.json", cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, f"输出文件夹 {tmp_path / 'nope'} 不存在", folder=tmp_path,
                         absent=[tmp_path / "nope"])
    assert out == ""


def test_schema_written_atomically(tmp_path):
    target = tmp_path / "schema.json"
    rc, out, err = cli("rubric", "schema", "-o", target, cwd=tmp_path)
    assert rc == 0 and target.read_text(encoding="utf-8").startswith("{") and Path(tmp_path).joinpath(".schema").exists() is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schema.json"]
