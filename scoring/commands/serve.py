"""``scoring serve [-r RUBRIC] [--data DIR] [--host 127.0.0.1] [--port 8000] ...``: the self-check page
branch secretaries open on the county intranet, and the committee's view of a run (extra "web")."""

from __future__ import annotations


def cmd(a) -> int:
    from ..web import main_serve

    return main_serve(a.rubric, a.plugin, a.year, a.data, a.publish_dir, a.host, a.port, a.max_upload_mb, a.keep)
