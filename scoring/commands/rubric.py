"""``scoring rubric check|show|diff|schema``."""

from __future__ import annotations

import sys

from ..errors import UsageError
from ..plugin_files import not_run_note


def cmd(a) -> int:
    from .. import rubric_tools
    from ..engine import load
    from ..rubric import dump_toml

    run = getattr(a, "allow_plugins", False)  # local plugin code runs only when the operator says so
    if a.rubric_command == "check":
        from ..rubric import read_rubric_data

        data, shown = read_rubric_data(a.rubric)
        if rubric_tools.is_fragment(data):  # like rubrics/_bonus.toml: validated for what it has
            files = [*a.plugin, *(p for p in data.get("plugins", []) if isinstance(p, str))]
            print(rubric_tools.check_fragment(data, shown, _fragment_registry(files, run)))
            note = None if run else not_run_note(files)
            if note:
                print(f"  {note}")
            return 0
        r, reg, shown = load(a.rubric, a.plugin, execute_plugins=run)
        print(rubric_tools.check_summary(r, shown, reg))
        note = None if run else not_run_note([*a.plugin, *r.plugins])
        if note:
            print(f"  {note}")
    elif a.rubric_command == "show":
        r, _, shown = load(a.rubric, a.plugin, execute_plugins=run)
        print(f"# {shown} 合并继承后的完整评分标准（{r.name}，版本 {r.version}）")
        print(dump_toml(r), end="")
        note = None if run else not_run_note([*a.plugin, *r.plugins])
        if note:
            print(note, file=sys.stderr)
    elif a.rubric_command == "diff":
        ra, _, sa = load(a.a, a.plugin, execute_plugins=run)
        rb, reg_b, sb = load(a.b, a.plugin, execute_plugins=run)
        print(rubric_tools.diff(ra, rb, sa, sb, reg_b)[0])
        note = None if run else not_run_note(list(dict.fromkeys([*a.plugin, *ra.plugins, *rb.plugins])))
        if note:
            print(note, file=sys.stderr)
    elif a.rubric_command == "schema":
        import json

        text = json.dumps(rubric_tools.json_schema(), ensure_ascii=False, indent=2) + "\n"
        if a.output:
            from ..atomic import atomic_output
            from ..paths import check_paths

            check_paths([], [a.output])
            with atomic_output(a.output) as tmp:
                tmp.write_text(text, encoding="utf-8")
            print(f"JSON Schema 已写入：{a.output}")
        else:
            print(text, end="")
    else:
        raise UsageError("请指定子命令：check、show、diff 或 schema（例如 scoring rubric check five_star）")
    return 0


def _fragment_registry(files: list, run: bool):
    """The plugins a fragment's measures are checked against: the built-in ones, ``--plugin`` and the
    fragment's own local plugin files, run only with ``--allow-plugins`` (else what they declare is read
    without running them), as for a whole rubric."""
    from pathlib import Path

    from ..registry import make_registry

    return make_registry([Path(p) for p in files], execute=run)
