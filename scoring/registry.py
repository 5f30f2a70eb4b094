"""The plugin manager: finds plugins in a fixed order, checks them, and indexes their measures/tables."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import replace
from pathlib import Path

import pluggy

from . import __version__, hookspecs
from .errors import PluginError
from .measure import Measure
from .tables import CORE_TABLES, Table

ENTRY_POINT_GROUP = "scoring.plugins"


def builtin_plugins() -> tuple[tuple[str, str], ...]:
    """(name, module) of the built-in plugins, in registration order (``plugins.BUILTIN_PLUGINS``)."""
    from plugins import BUILTIN_PLUGINS

    return tuple(BUILTIN_PLUGINS)


class Registry:
    """Measures and tables contributed by all registered plugins."""

    def __init__(self, pm: pluggy.PluginManager, versions: dict[str, str] | None = None):
        self.pm = pm
        self.versions = dict(versions or {})
        self.measures: dict[str, Measure] = {}
        self.tables: dict[str, Table] = {t.id: t for t in CORE_TABLES}
        table_owner = {t.id: "核心" for t in CORE_TABLES}
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
        """(name, version) of every plugin in registration order: a module's ``__version__``, else its
        package's version (the engine's for the built-ins), else ""."""
        out = []
        for name, plugin in self.pm.list_name_plugin():
            version = getattr(plugin, "__version__", None) or self.versions.get(name, "")
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


def make_registry(local_plugins: list[Path] = (), use_entry_points: bool = True, execute: bool = True) -> Registry:
    """The plugin manager with every plugin registered, in this fixed order: the built-in plugins
    (``plugins.BUILTIN_PLUGINS``), then installed packages of the entry-point group ``scoring.plugins``
    (sorted by name; an entry point named like a built-in is the built-in itself and is skipped), then
    local plugin files (``--plugin``, the rubric's ``plugins``) in the order given. With ``execute=False`` local
    plugin files are read without running them (:func:`scoring.plugin_files.static_module`)."""
    from .plugin_files import static_module

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    builtins = builtin_plugins()
    versions: dict[str, str] = {}
    for name, module in builtins:
        pm.register(importlib.import_module(module), name=name)
        versions[name] = __version__
    if use_entry_points:
        from importlib.metadata import entry_points

        taken = {name for name, _ in builtins} | {module for _, module in builtins}
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in taken or ep.value in taken or pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as e:  # a broken third-party package: name it, no traceback
                raise PluginError(f"插件包「{ep.name}」（{ep.value}）加载失败：{type(e).__name__}: {e}") from None
            pm.register(plugin, name=ep.name)
            versions[ep.name] = ep.dist.version if ep.dist is not None else ""
    for p in local_plugins:
        p = Path(p)
        if not p.is_file():
            raise PluginError(f"{p}: 找不到插件文件")
        name = f"local:{p.stem}"
        if pm.get_plugin(name) is not None:
            continue
        pm.register(_load_file_plugin(p) if execute else static_module(p), name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as e:
        raise PluginError(f"插件「{pm.get_name(e.plugin)}」有未知的钩子函数：{e}") from None
    return Registry(pm, versions)
