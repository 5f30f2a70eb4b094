"""``scoring publish RESULTS.json|DATA... -o DIR``: the 公示 (county, townships) and the internal list."""

from __future__ import annotations


def cmd(a) -> int:
    from ..publish.command import main_publish

    return main_publish(a)
