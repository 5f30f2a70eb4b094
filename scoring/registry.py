"""The plugin manager: finds plugins in a fixed order, checks them, and indexes their measures/tables."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import replace
from pathlib import Path

import pluggy

from . import hookspecs
from .errors import PluginError
from .measure import Measure
from .tables import BUILTIN_TABLES, Table

ENTRY_POINT_GROUP = "scoring.plugins"

# Built-in plugin modules, in registration order. They are normally found through the entry-point group
# (see pyproject.toml); this list is the fallback when the package metadata is not installed.
DEFAULT_PLUGINS = (
    ("organization", "plugins.organization"),
    ("members", "plugins.members"),
    ("dues", "plugins.dues"),
    ("performance", "plugins.performance"),
    ("committee", "plugins.committee"),
)


class Registry:
    """Measures and tables contributed by all registered plugins."""

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm
        self.measures: dict[str, Measure] = {}
        self.tables: dict[str, Table] = {t.id: t for t in BUILTIN_TABLES}
        table_owner = {t.id: "内置" for t in BUILTIN_TABLES}
        for impl in pm.hook.scoring_tables.get_hookimpls():  # in registration order
            for t in impl.function() or []:
                if t.id in self.tables:
                    raise PluginError(f"插件「{impl.plugin_name}」声明的数据表「{t.id}」与「{table_owner[t.id]}」重复")
                self.tables[t.id] = t
                table_owner[t.id] = impl.plugin_name
        for impl in pm.hook.scoring_measures.get_hookimpls():
            for m in impl.function() or []:
                if m.id in self.measures:
                    raise PluginError(
                        f"测量项「{m.id}」重复：插件「{self.measures[m.id].plugin}」和插件「{impl.plugin_name}」都声明了它"
                    )
                for tid, cols in m.inputs.items():
                    spec = self.tables.get(tid)
                    if spec is None:
                        raise PluginError(f"插件「{impl.plugin_name}」的测量项「{m.id}」读取未声明的数据表「{tid}」")
                    unknown = [c for c in cols if c not in spec.column_ids]
                    if unknown:
                        raise PluginError(f"插件「{impl.plugin_name}」的测量项「{m.id}」读取数据表「{tid}」中不存在的列：{unknown}")
                self.measures[m.id] = replace(m, plugin=impl.plugin_name)

    def get(self, measure_id: str) -> Measure | None:
        return self.measures.get(measure_id)

    def plugin_versions(self) -> list[tuple[str, str]]:
        out = []
        for name, plugin in self.pm.list_name_plugin():
            dist = None
            for p, d in self.pm.list_plugin_distinfo():
                if p is plugin:
                    dist = d
            version = getattr(plugin, "__version__", None) or (dist.version if dist is not None else "")
            out.append((name, str(version)))
        return out


def _load_file_plugin(path: Path):
    spec = importlib.util.spec_from_file_location(f"scoring_local_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path}: 无法作为插件加载")
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except Exception as e:  # a local plugin's own bug: report it without a traceback
        raise PluginError(f"{path}: 插件加载失败：{type(e).__name__}: {e}") from None
    return mod


def make_registry(local_plugins: list[Path] = (), use_entry_points: bool = True) -> Registry:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for p in local_plugins:
        p = Path(p)
        if not p.is_file():
            raise PluginError(f"{p}: 找不到插件文件")
        pm.register(_load_file_plugin(p), name=f"local:{p.stem}")
    if use_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for name, module in DEFAULT_PLUGINS:
        if pm.get_plugin(name) is None:
            pm.register(importlib.import_module(module), name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as e:
        raise PluginError(f"插件「{pm.get_name(e.plugin)}」有未知的钩子函数：{e}") from None
    return Registry(pm)
