"""Local plugin files: where they may come from, and what they declare without running them.

Code runs only from where the operator says. A rubric names its local plugins (``plugins = ["x.py"]``);
those are accepted only inside the folder of the rubric file that names them, checked after resolving
links, so a rubric someone sent cannot point at ``../elsewhere/x.py`` or ``/tmp/x.py``. Commands that only
look at a rubric (``rubric check|show|diff``, ``template``) never execute a local plugin unless the
operator gives ``--allow-plugins``: they read the tables and measures it declares from its source with
:mod:`ast` (:func:`static_module`), the way a linter reads code, without importing it. A plugin whose
declarations are not written out literally cannot be read that way; the message says the flag is needed.
"""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

from .errors import PluginError, RubricCode, RubricError, RubricProblem

FLAG = "--allow-plugins"


def local_plugin_path(base_dir: Path, entry: str, shown: str, index: int) -> str:
    """The absolute path of a rubric's local plugin ``entry`` (relative to ``base_dir``, the folder of the
    rubric file naming it); a :class:`RubricError` when it lies outside that folder once links are
    resolved."""
    folder = base_dir.resolve()
    target = (base_dir / entry).resolve()
    if not target.is_relative_to(folder):
        raise RubricError([RubricProblem(RubricCode.PLUGIN_LOCATION, f"{shown}: plugins[{index}]: 本地插件「{entry}」不在评分标准所在的文件夹（{folder}）中；"
                           "为安全起见，评分标准只能加载与它放在同一文件夹（或其子文件夹）中的插件，请把插件文件复制到那里")])
    return str(target)


def not_run_note(files: list) -> str | None:
    """The line saying which local plugins were read without running them, or None when there are none."""
    if not files:
        return None
    return (f"本地插件未运行，只读取了其中声明的测量项和数据表：{'、'.join(str(f) for f in files)}"
            f"（确认插件可信后加 {FLAG} 可运行插件代码一并检查）")


# ---------------------------------------------------------------- reading declarations without running them

_CONSTRUCTORS = {
    "Measure": ("scoring.measure", "Measure"), "Param": ("scoring.measure", "Param"),
    "Table": ("scoring.tables", "Table"), "Column": ("scoring.tables", "Column"),
    "ForeignKey": ("scoring.tables", "ForeignKey"),
}
_HOOKS = ("scoring_tables", "scoring_measures")


class _NotStatic(Exception):
    """A declaration that is not written out literally."""

    def __init__(self, node: ast.AST, what: str):
        super().__init__(what)
        self.line = getattr(node, "lineno", None)
        self.what = what


def _not_run(name: str):
    def compute(*_args, **_kwargs):
        raise PluginError(f"测量项「{name}」所在的本地插件没有运行（未指定 {FLAG}），不能用于计算")
    return compute


class _Reader:
    """Evaluates the literal part of a plugin module: constants, tuples, lists, dicts, names bound to
    them at module level, constants imported from the engine's own modules, and calls of the engine's
    declaration classes (Measure, Param, Table, Column, ForeignKey). Nothing of the plugin is executed."""

    def __init__(self, tree: ast.Module):
        self.functions = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self.imported: dict[str, tuple[str, str]] = {}  # local name -> (module, attribute) of scoring.*
        self.assigned: dict[str, ast.AST] = {}
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "scoring" \
                    and node.level == 0:
                for alias in node.names:
                    self.imported[alias.asname or alias.name] = (node.module, alias.name)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.assigned[node.targets[0].id] = node.value
        self.cache: dict[str, object] = {}

    def value(self, node: ast.AST, depth: int = 0):
        if depth > 50:
            raise _NotStatic(node, "嵌套过深")
        v = lambda n: self.value(n, depth + 1)  # noqa: E731
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Tuple):
            return tuple(v(e) for e in node.elts)
        if isinstance(node, ast.List):
            return [v(e) for e in node.elts]
        if isinstance(node, ast.Dict) and None not in node.keys:
            return {v(k): v(x) for k, x in zip(node.keys, node.values)}
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            x = v(node.operand)
            if isinstance(x, (int, float)):
                return -x
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            a, b = v(node.left), v(node.right)
            if type(a) is type(b) and isinstance(a, (tuple, list, str)):
                return a + b
        if isinstance(node, ast.Subscript):
            base, key = v(node.value), v(node.slice)
            if isinstance(base, (tuple, list, dict, str)):
                try:
                    return base[key]
                except (KeyError, IndexError, TypeError):
                    pass
        if isinstance(node, ast.Name):
            return self.name(node, depth)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            cls = self.constructor(node.func.id)
            if cls is not None:
                args = [v(a) for a in node.args]
                kwargs = {k.arg: v(k.value) for k in node.keywords if k.arg is not None}
                if any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
                    raise _NotStatic(node, "使用了 * 或 ** 参数")
                try:
                    return cls(*args, **kwargs)
                except TypeError as e:
                    raise _NotStatic(node, f"参数有误（{e}）") from None
        raise _NotStatic(node, "不是直接写出的值")

    def constructor(self, name: str):
        """The declaration class a name was imported as (``from scoring import Measure``), or None."""
        target = self.imported.get(name)
        if target is None or target[1] not in _CONSTRUCTORS:
            return None
        module, attr = _CONSTRUCTORS[target[1]]
        if target[0] not in ("scoring", module):
            return None
        return getattr(importlib.import_module(module), attr)

    def name(self, node: ast.Name, depth: int):
        n = node.id
        if n in self.cache:
            return self.cache[n]
        if n in self.functions:
            out = _not_run(n)
        elif n in self.assigned:
            out = self.value(self.assigned[n], depth + 1)
        elif n in self.imported:
            module, attr = self.imported[n]
            found = getattr(importlib.import_module(module), attr, None)  # the engine's own constants
            if not isinstance(found, (str, int, float, bool, tuple, frozenset)):
                raise _NotStatic(node, f"「{n}」不是常量")
            out = found
        else:
            raise _NotStatic(node, f"「{n}」不是直接写出的值")
        self.cache[n] = out
        return out


def _hook_return(fn: ast.FunctionDef) -> ast.AST:
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        raise _NotStatic(fn, f"{fn.name}() 不是只有一条 return 语句")
    return body[0].value


def static_module(path: Path) -> types.ModuleType:
    """A stand-in module for the local plugin ``path`` whose hooks return the tables and measures the file
    declares, read from its source without executing it (a measure's ``compute`` is not callable: it
    raises). Raises :class:`PluginError` when the declarations are not written out literally."""
    from .hookspecs import hookimpl

    try:
        source = path.read_bytes()
        tree = ast.parse(source, filename=str(path))
    except (OSError, SyntaxError, ValueError) as e:
        raise PluginError(f"{path}: 无法读取插件文件（{type(e).__name__}: {e}）") from None
    reader = _Reader(tree)
    hooks = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in _HOOKS}
    if not hooks:
        raise PluginError(f"{path}: 文件中没有声明任何测量项或数据表（scoring_measures / scoring_tables）")
    module = types.ModuleType(f"scoring_static_{path.stem}")
    module.__file__ = str(path)
    module.__doc__ = "declarations read statically; the plugin's code was not run"
    for name, fn in hooks.items():
        try:
            declared = reader.value(_hook_return(fn))
        except _NotStatic as e:
            line = f"第{e.line}行" if e.line else ""
            raise PluginError(f"{path}: {line}{e.what}：插件中的声明不是直接写出的，不运行插件代码就无法读取；"
                              f"确认插件可信后加 {FLAG} 运行它") from None
        if declared is not None and not isinstance(declared, (list, tuple)):
            raise PluginError(f"{path}: {fn.name}() 应返回列表；确认插件可信后加 {FLAG} 运行它")
        items = list(declared or [])

        def hook(items=items):
            return items

        hook.__name__ = name
        setattr(module, name, hookimpl(hook))
    return module
