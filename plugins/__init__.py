"""Built-in indicator plugins: each module declares the tables it reads (``scoring_tables``) and the
measures it provides (``scoring_measures``), exactly as a county's own plugin does.

``BUILTIN_PLUGINS`` is the one list the engine registers them from, in this order, whether the package is
installed or run from a source tree (like pytest's default plugin list). Third-party packages add theirs
through the entry-point group ``scoring.plugins``.
"""

BUILTIN_PLUGINS = (
    ("organization", "plugins.organization"),
    ("members", "plugins.members"),
    ("dues", "plugins.dues"),
    ("performance", "plugins.performance"),
    ("committee", "plugins.committee"),
    ("sample_county", "plugins.sample_county"),
)
