"""Hardening, code runs only from where the operator says: a rubric's local plugins only from the rubric's
own folder (after resolving links); ``rubric check/show/diff`` and ``template`` never run plugin code
without ``--allow-plugins`` (they read the declared measures and tables from the source); ``run`` says
which plugin files it ran; rubric strings reaching Excel formulas are escaped.

Every plugin here writes a marker file when its code runs, so each test sees whether it ran."""

from __future__ import annotations

import json
import re
import textwrap
import zipfile
from pathlib import Path

import pytest

from hardening_util import assert_clean_refusal, cli, county_workbook
from scoring.errors import PluginError
from scoring.plugin_files import static_module

PLUGIN = '''
    from pathlib import Path
    from scoring import Measure, Param, hookimpl
    from scoring.tables import CATEGORIES

    Path(__file__).with_name("RAN-" + Path(__file__).stem).write_text("ran")  # the marker

    KINDS = ("正式", "预备") + ("其他",)

    def probationary_share(ctx, status="预备"):
        m = ctx.table("members")
        g = m.assign(p=(m["status"] == status).astype(int)).groupby("branch_id")["p"].mean()
        share = ctx.per_branch(g)
        return ctx.result(share, "预备党员占比" + (share * 100).round(1).astype(str) + "%")

    @hookimpl
    def scoring_measures():
        """The plugin's only measure."""
        return [Measure("probationary_share", "预备党员占比", probationary_share,
                        inputs={"members": ("branch_id", "status")},
                        params={"status": Param(KINDS[1], "按此党员类别计数")}, unit="%", kind="rate",
                        description="预备党员占全体党员的比例（适用：" + CATEGORIES[0] + "）")]
'''

RUBRIC = '''
    id = "local_test"
    name = "本地插件测试标准"
    year = 2025
    plugins = [{plugin}]

    [grading]
    model = "grade"
    levels = [{{ label = {label}, min = 50 }}, {{ label = "一般", min = 0 }}]

    [[dimensions]]
    id = "team"
    name = "队伍建设"

    [[dimensions.indicators]]
    id = "probationary"
    name = "预备党员占比"
    max = 10
    measure = "probationary_share"
    rule = {{ type = "ratio", target = 0.1 }}
'''


def _rubric(folder: Path, plugin: str = "mine.py", label: str = "好", name: str = "r.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = RUBRIC.format(plugin=json.dumps(plugin, ensure_ascii=False), label=json.dumps(label, ensure_ascii=False))
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _plugin(path: Path, body: str = PLUGIN) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def _ran(plugin: Path) -> bool:
    return plugin.with_name("RAN-" + plugin.stem).exists()


@pytest.mark.parametrize("where", ["parent", "absolute", "link"])
def test_plugin_outside_the_rubric_folder_is_refused_and_never_run(tmp_path, where):
    outside = _plugin(tmp_path / "elsewhere" / "x.py")
    folder = tmp_path / "rubric"
    folder.mkdir()
    entry = {"parent": "../elsewhere/x.py", "absolute": str(outside), "link": "x.py"}[where]
    if where == "link":
        (folder / "x.py").symlink_to(outside)  # inside by name, outside once resolved
    rubric = _rubric(folder, plugin=entry)
    for args in (("rubric", "check", rubric), ("rubric", "check", rubric, "--allow-plugins"),
                 ("run", tmp_path / "nodata.xlsx", "-r", rubric, "-o", tmp_path / "r.xlsx")):
        (tmp_path / "nodata.xlsx").write_bytes(b"")
        rc, out, err = cli(*args, cwd=tmp_path)
        assert_clean_refusal(rc, err, 2, f"{rubric}: plugins[1]: 本地插件「{entry}」不在评分标准所在的文件夹（{folder}）中；"
                                         "为安全起见，评分标准只能加载与它放在同一文件夹（或其子文件夹）中的插件",
                             folder=tmp_path, absent=[tmp_path / "r.xlsx"])
        assert out == ""
    assert not _ran(outside)


def test_plugin_in_a_subfolder_of_the_rubric_folder_is_fine(tmp_path):
    plugin = _plugin(tmp_path / "plugins" / "mine.py")
    rubric = _rubric(tmp_path, plugin="plugins/mine.py")
    rc, out, err = cli("rubric", "check", rubric, cwd=tmp_path)
    assert rc == 0 and err == "" and not _ran(plugin)


@pytest.mark.parametrize("command", ["check", "show", "diff", "template"])
def test_looking_at_a_rubric_never_runs_its_plugin(tmp_path, command):
    plugin = _plugin(tmp_path / "mine.py")
    rubric = _rubric(tmp_path)
    args = {"check": ("rubric", "check", rubric), "show": ("rubric", "show", rubric),
            "diff": ("rubric", "diff", rubric, rubric), "template": ("template", "-r", rubric, "-o", "t.xlsx")}[command]
    rc, out, err = cli(*args, cwd=tmp_path)
    assert rc == 0 and "Traceback" not in err, err
    assert not _ran(plugin)
    note = (f"本地插件未运行，只读取了其中声明的测量项和数据表：{plugin}"
            "（确认插件可信后加 --allow-plugins 可运行插件代码一并检查）")
    if command == "check":
        assert f"  {note}" in out.splitlines() and "probationary_share" not in err
        assert "local:mine" in out  # the statically read measure is checked like any other
    elif command == "template":
        assert (tmp_path / "t.xlsx").exists() and out == "已生成数据采集模板：t.xlsx\n"
    else:
        assert err == note + "\n"


def test_allow_plugins_runs_the_plugin(tmp_path):
    plugin = _plugin(tmp_path / "mine.py")
    rubric = _rubric(tmp_path)
    rc, out, err = cli("rubric", "check", rubric, "--allow-plugins", cwd=tmp_path)
    assert rc == 0 and _ran(plugin) and "本地插件未运行" not in out


def test_a_plugin_the_check_cannot_read_without_running_it_says_the_flag_is_needed(tmp_path):
    body = PLUGIN.replace('KINDS = ("正式", "预备") + ("其他",)', 'KINDS = tuple(sorted(("正式", "预备")))')
    plugin = _plugin(tmp_path / "mine.py", body)
    rubric = _rubric(tmp_path)
    line = next(i for i, text in enumerate(textwrap.dedent(body).splitlines(), 1) if text.startswith("KINDS"))
    rc, out, err = cli("rubric", "check", rubric, cwd=tmp_path)
    assert_clean_refusal(rc, err, 2, f"{plugin}: 第{line}行不是直接写出的值：插件中的声明不是直接写出的，不运行插件代码就无法读取；"
                                     "确认插件可信后加 --allow-plugins 运行它", folder=tmp_path)
    assert not _ran(plugin) and out == ""
    rc, out, err = cli("rubric", "check", rubric, "--allow-plugins", cwd=tmp_path)
    assert rc == 0 and _ran(plugin)


def test_static_reading_gives_the_declared_measure(tmp_path):
    plugin = _plugin(tmp_path / "mine.py")
    (m,) = static_module(plugin).scoring_measures()
    assert (m.id, m.name, m.inputs, m.unit, m.kind) == (
        "probationary_share", "预备党员占比", {"members": ("branch_id", "status")}, "%", "rate")
    assert m.params["status"].default == "预备"  # KINDS[1] of a tuple sum
    assert m.description == "预备党员占全体党员的比例（适用：农村）"  # CATEGORIES[0]: read from the engine's constants
    with pytest.raises(PluginError, match="没有运行"):
        m.compute(None)
    assert not _ran(plugin)


def test_run_says_which_plugin_files_it_ran_and_escapes_level_labels_in_formulas(tmp_path):
    data = county_workbook(tmp_path / "data")
    plugin = _plugin(tmp_path / "mine.py")
    label = '好"),TRUE,("'  # a label that would close the formula's string and inject into it
    rubric = _rubric(tmp_path, label=label)
    rc, out, err = cli("run", data, "-r", rubric, "-o", "r.xlsx", cwd=tmp_path)
    assert rc == 0, err
    assert f"已运行本地插件代码：{plugin.resolve()}" in out.splitlines() and _ran(plugin)
    with zipfile.ZipFile(tmp_path / "r.xlsx") as z:
        sheets = [z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    formulas = [f for s in sheets for f in re.findall(r"<formula>(.*?)</formula>", s)]
    assert '"好""),TRUE,("""' in formulas, formulas  # one string literal, the quotes inside doubled
    assert '"好"),TRUE,(""' not in formulas
