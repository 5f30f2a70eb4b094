"""Hardening, outputs that collide: two outputs naming one file, an output that is an input by any path,
an output folder that is missing or cannot be written — refused before any work (exit 2); SIGTERM
during a write leaves no temporary file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hardening_util import assert_clean_refusal, cli, county_workbook, temp_files


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return county_workbook(tmp_path_factory.mktemp("county"))


def test_results_and_json_naming_the_same_file(tmp_path, data):
    rc, out, err = cli("run", data, "-o", "r.xlsx", "--json", "r.xlsx", cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, "输出文件重复：r.xlsx 被指定了两次，请为每个输出指定不同的文件名",
                         folder=tmp_path, absent=[tmp_path / "r.xlsx"])
    assert out == ""


def test_results_and_json_naming_one_file_by_two_paths(tmp_path, data):
    (tmp_path / "sub").mkdir()
    rc, _, err = cli("run", data, "-o", "sub/../r.xlsx", "--json", "r.xlsx", cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, "输出文件重复：sub/../r.xlsx 和 r.xlsx 是同一个文件", folder=tmp_path,
                         absent=[tmp_path / "r.xlsx"])


def test_output_that_is_the_input_through_a_symlink_or_a_hard_link(tmp_path, data):
    folder = data.parent
    before = data.read_bytes()
    (folder / "link.xlsx").symlink_to(data)
    os.link(data, folder / "hard.xlsx")
    for name in ("link.xlsx", "hard.xlsx"):
        rc, _, err = cli("run", data, "-o", name, cwd=folder)
        assert_clean_refusal(rc, err, 2, f"输出文件 {name} 是输入数据之一，不能覆盖输入文件", folder=folder)
    (folder / "link.xlsx").unlink()
    (folder / "hard.xlsx").unlink()
    assert data.read_bytes() == before


def test_json_over_the_rubric_file_is_refused(tmp_path, data):
    rubric = tmp_path / "county.toml"
    rubric.write_text('extends = "five_star"\nid = "c"\nname = "本县"\n', encoding="utf-8")
    before = rubric.read_bytes()
    rc, _, err = cli("run", data, "-r", rubric, "-o", tmp_path / "r.xlsx", "--json", rubric, cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, f"输出文件 {rubric} 是输入数据之一", folder=tmp_path, absent=[tmp_path / "r.xlsx"])
    assert rubric.read_bytes() == before


def test_output_folder_missing_for_every_command(tmp_path, data):
    for args in (("run", data, "-o", "nope/r.xlsx"), ("run", data, "--json", "nope/r.json"),
                 ("self-check", data, "-b", "X", "-o", "nope/s.xlsx"), ("template", "-o", "nope/t.xlsx"),
                 ("rubric", "schema", "-o", "nope/s.json")):
        rc, out, err = cli(*args, cwd=tmp_path)
        assert_clean_refusal(rc, err, 2, "输出文件夹 nope 不存在", folder=tmp_path, absent=[tmp_path / "nope"])
        assert out == ""


def test_output_folder_that_is_a_file(tmp_path, data):
    (tmp_path / "f").write_text("x", encoding="utf-8")
    rc, _, err = cli("run", data, "-o", "f/r.xlsx", cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, "输出文件夹 f 不是文件夹", folder=tmp_path)


def _unwritable(tmp_path: Path) -> tuple[Path, str]:
    """A folder this process cannot write into, and the reason the message gives: a read-only folder for
    an ordinary user; for root (who may write anywhere) /proc, where no file can be created."""
    if os.geteuid() == 0:
        return Path("/proc"), "不能在其中创建文件"
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    return folder, "没有写入权限"


def test_output_folder_not_writable_is_a_usage_error_before_the_work(tmp_path, data):
    folder, why = _unwritable(tmp_path)
    for args in (("run", data, "-o", folder / "r.xlsx"), ("template", "-o", folder / "t.xlsx"),
                 ("sample", "--branches", "2", "-o", folder / "s")):
        t = time.perf_counter()
        rc, out, err = cli(*args, cwd=tmp_path)
        assert_clean_refusal(rc, err, 2, f"输出文件夹 {folder} 无法写入（{why}），请换一个有写入权限的位置",
                             folder=tmp_path)
        assert out == "" and time.perf_counter() - t < 5  # refused before reading or scoring anything


def test_sigterm_while_writing_leaves_no_temporary_file(tmp_path):
    """SIGTERM arrives while the sample workbook is being written (its temporary file exists): the
    process aborts like Ctrl+C, removes the temporary file and writes nothing."""
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "scoring", "sample", "--branches", "60", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not temp_files(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert temp_files(out), "the writer never started"
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "已中断，未写入结果。" in stderr and "Traceback" not in stderr
    assert temp_files(out) == [] and list(out.iterdir()) == []


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_sigterm_as_the_temporary_output_is_created_leaves_nothing(tmp_path, monkeypatch, kind):
    """SIGTERM arriving the moment the temporary file (or folder) exists, before the writer holds its
    name: it is held back until the name is kept, then aborts the write, and nothing is left behind."""
    import tempfile
    import threading

    from scoring import atomic
    from scoring.cli import Terminated, _on_sigterm

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers are installed from the main thread only")
    make = "mkstemp" if kind == "file" else "mkdtemp"
    real = getattr(tempfile, make)

    def created_then_signalled(*args, **kwargs):
        made = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # delivered at once unless held back
        return made

    monkeypatch.setattr(atomic.tempfile, make, created_then_signalled)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with pytest.raises(Terminated):
            if kind == "file":
                with atomic.atomic_output(tmp_path / "结果.xlsx") as tmp:
                    tmp.write_bytes(b"never complete")
            else:
                with atomic.atomic_folder(tmp_path / "结果") as tmp:
                    (tmp / "汇总.xlsx").write_bytes(b"never complete")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert list(tmp_path.iterdir()) == []
