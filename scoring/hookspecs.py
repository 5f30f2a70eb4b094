"""The plugin surface of the scoring engine: every hook a plugin may implement.

A plugin is a Python module (or object) with functions marked ``@scoring.hookimpl``. The engine finds
plugins, in this fixed order:

1. local plugin files named on the command line (``--plugin path.py``) or by the rubric,
2. packages that declare an entry point in the group ``scoring.plugins`` (the built-in plugins in
   ``plugins/`` use this same door; a county's own package adds its own entry point),
3. the built-in plugin modules, when the engine runs from a source tree without installed metadata.

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
    """Declare input tables this plugin reads beyond the built-in ones (``scoring.tables``).

    :return: a list of :class:`scoring.tables.Table`, or ``None`` when the plugin adds no table.
        A table id declared twice (by two plugins, or clashing with a built-in table) stops the run,
        naming both plugins. Declared tables are read, validated and shown in templates like built-ins.

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
