"""Scoring engine for the annual assessment of Party branches (党支部年度考核)."""

__version__ = "0.1.0"

from .hookspecs import hookimpl  # noqa: E402  (the marker plugins use: ``@scoring.hookimpl``)
from .measure import Measure, MeasureContext, Param  # noqa: E402

__all__ = ["hookimpl", "Measure", "MeasureContext", "Param", "__version__"]
