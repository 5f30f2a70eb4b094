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
        if getattr(a, "data", None):
            from ..checks import data_warnings
            from ..engine import compute_measures, read_for, require_branches
            from ..paths import check_paths

            check_paths(a.data, [])
            data = read_for(a.data, (r, reg), year=a.year or r.year)
            require_branches(data, a.data)
            measured = compute_measures(r, reg, data, a.year or r.year)
            warnings = data_warnings(r, reg, data.table("branches"), measured)
            n = len(data.table("branches"))
            if warnings:
                print(f"用 {'、'.join(str(p) for p in a.data)}（{n} 个支部）检查，有 {len(warnings)} 条警告：")
                print("\n".join(f"  警告：{t}" for t in warnings))
            else:
                print(f"用 {'、'.join(str(p) for p in a.data)}（{n} 个支部）检查：没有警告")
    elif a.rubric_command == "show":
        r, _, shown = load(a.rubric, a.plugin, execute_plugins=run)
        print(f"# {shown} 合并继承后的完整评分标准（{r.name}，版本 {r.version}）")
        print(dump_toml(r), end="")
        note = None if run else not_run_note([*a.plugin, *r.plugins])
        if note:
            print(note, file=sys.stderr)
    elif a.rubric_command == "diff":
        if getattr(a, "data", None):
            return diff_with_data(a)
        if getattr(a, "output", None) is not None:
            raise UsageError("-o 输出的是评分标准对实际数据的影响，需要同时用 --data 指定支部记录，"
                             "如 scoring rubric diff five_star 本县标准.toml --data 数据.xlsx -o impact.xlsx")
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


def _local_plugins(a) -> list[str]:
    """The local plugin files a diff with data would run: --plugin and each rubric's own (read from the
    rubric files, without running anything)."""
    from ..rubric import read_rubric_data

    files = [str(p) for p in a.plugin]
    for spec in (a.a, a.b):
        data, _ = read_rubric_data(spec)
        files += [p for p in data.get("plugins", []) if isinstance(p, str)]
    return list(dict.fromkeys(files))


def diff_with_data(a) -> int:
    """``rubric diff OLD NEW --data DATA [-o impact.xlsx]``: the rule differences, then the same records
    scored under both rubrics and compared (:mod:`scoring.impact`)."""
    import shlex
    import sys
    from pathlib import Path

    from .. import rubric_tools
    from ..engine import Timer, build_meta, load, read_for, require_branches, score
    from ..impact import compare, summary_lines
    from ..paths import check_paths
    from ..rubric import resolve_rubric_path

    rubric_files = [p for p in (resolve_rubric_path(a.a), resolve_rubric_path(a.b)) if p is not None]
    plugins = _local_plugins(a)  # run like scoring run runs them (--data scores), and named in the output
    if a.output is not None and any(a.output.resolve() == p.resolve() for p in rubric_files):
        raise UsageError(f"输出文件 {a.output} 是评分标准文件，不能覆盖；请用 -o 指定其他路径")
    check_paths(list(a.data) + [Path(p) for p in plugins] + rubric_files, [a.output] if a.output else [])
    if plugins and getattr(a, "allow_plugins", None) is False:
        # where rubric diff has --allow-plugins, its local plugin code runs only with it; --data must run it
        raise UsageError(f"--data 要按两个评分标准评分，需要运行本地插件的代码：{'、'.join(plugins)}；"
                         "确认插件可信后加 --allow-plugins 再运行（不加 --data 的规则对比不运行插件代码）")
    timer = Timer(quiet=a.quiet)
    with timer("rubric"):
        ra, reg_a, sa = load(a.a, a.plugin)
        rb, reg_b, sb = load(a.b, a.plugin)
    if a.year is None and ra.year != rb.year:
        timer.close()
        raise UsageError(f"两个评分标准的考核年度不同（{sa}：{ra.year}，{sb}：{rb.year}），"
                         "请用 --year 指定这份数据所属的考核年度")
    year = a.year or rb.year
    try:
        data = read_for(a.data, (ra, reg_a), (rb, reg_b), timer=timer, lenient=a.lenient, year=year)
        require_branches(data, a.data)
        command = "scoring " + " ".join(shlex.quote(x) for x in sys.argv[1:])
        old = score(ra, reg_a, data, year, build_meta(ra, reg_a, data, year, command), timer)
        new = score(rb, reg_b, data, year, build_meta(rb, reg_b, data, year, command), timer)
        entries = rubric_tools.diff_entries(ra, rb, reg_b)
        impact = compare(old, new, entries)
        data_shown = "、".join(str(p) for p in a.data)
        if a.output is not None:
            from ..output.impact import write_impact
            from ..result import RunMeta

            with timer("write"):
                meta = RunMeta(title=f"{year}年度评分标准修订影响：{ra.name} → {rb.name}", year=year,
                               engine_version=old.meta.engine_version, generated=old.meta.generated)
                write_impact(impact, a.output, meta,
                             rules_note=f"原标准：{sa}（{ra.name}，版本 {ra.version}）；新标准：{sb}（{rb.name}，版本 {rb.version}）；"
                                        f"共 {len(entries)} 处差异",
                             data_note=f"数据：{data_shown}，参评支部 {len(impact.branches)} 个，考核年度 {year}")
    finally:
        timer.close()
    print(rubric_tools.diff_text(ra, rb, sa, sb, entries))
    excluded = data.excluded
    lines = summary_lines(impact, data_shown, year, str(a.output) if a.output else None)
    if plugins:
        lines.insert(1, f"  已运行本地插件代码（--data 按两个评分标准评分，同 scoring run）：{'、'.join(plugins)}")
    if len(excluded):
        lines.insert(1, f"  因数据有误未评定 {len(excluded)} 个支部（两个标准都不评定）："
                        f"{'、'.join(excluded['branch_id'].astype(str))}")
    print("\n".join(lines))
    return 0
