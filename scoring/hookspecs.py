"""The plugin surface of the scoring engine: every hook a plugin may implement.

A plugin is a Python module (or object) with functions marked ``@scoring.hookimpl``. The engine registers
plugins in this fixed order (:func:`scoring.registry.make_registry`):

1. the built-in plugins, from the one list ``plugins.BUILTIN_PLUGINS`` (installed or run from a source tree),
2. packages that declare an entry point in the group ``scoring.plugins`` (a county's own package), by name,
3. local plugin files named on the command line (``--plugin path.py``) or by the rubric.

Built-in plugins use the same hooks as any other: they declare their tables (``scoring_tables``) and
measures (``scoring_measures``); the core owns only the ``branches`` table and names no measure.

Plugins measure; the rubric scores. A measure turns records into one value per branch and the evidence
behind it. Points, thresholds, caps and vetoes never live in a plugin.
"""

from __future__ import annotations

import pluggy

PROJECT = "scoring"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def scoring_tables():
    """Declare the input tables this plugin's measures read (besides the core ``branches`` table).

    :return: a list of :class:`scoring.tables.Table`, or ``None`` when the plugin adds no table.
        A table id declared twice (by two plugins, or clashing with the core table) stops the run,
        naming both plugins. Declared tables are read, validated and shown in templates; a table with
        ``filled_by="committee"`` is marked as filled by the 考评委员会.

    Called once at start-up, for every plugin (not firstresult); results are concatenated in plugin order.
    """


@hookspec
def scoring_measures():
    """Declare the measures this plugin provides.

    :return: a list of :class:`scoring.measure.Measure`, or ``None`` when the plugin has none. Each
        measure names the tables and columns it reads (``inputs``), its parameters with defaults
        (``params``), its unit and kind, and a ``compute(ctx, **params)`` function that returns one
        row per branch: ``value`` (float, NaN = no data), ``applicable`` (bool) and ``evidence``
        (a Chinese phrase such as "支委会全年召开9次"). Measures of kind ``"claims"`` return one row
        per claim instead (see :mod:`scoring.measure`).

        A measure id declared by two plugins stops the run with a message naming both plugins.

    ``compute`` must be vectorized over all branches (groupby/merge), must not read files, and must not
    depend on row order.

    Called once at start-up, for every plugin (not firstresult).
    """


@hookspec(firstresult=True)
def scoring_sample(n_branches: int, seed: int, year: int):
    """Generate a synthetic county (示例县) for demos, tests and benchmarks (``scoring sample``).

    :param n_branches: number of branches (>= 1).
    :param seed: the random seed; the same arguments must give identical frames.
    :param year: the assessment year the records belong to.
    :return: ``{table id: DataFrame}`` with canonical column ids and the dtypes of
        :mod:`scoring.dataset`, the core ``branches`` table included; or ``None`` to let another
        plugin answer.

    firstresult: the plugin registered last answers first (a county's own generator wins over the
    built-in one, ``plugins/sample_county.py``).
    """
