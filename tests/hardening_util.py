"""Shared helpers for the hardening tests (tests/test_hardening_*.py): run the CLI, in-process where
nothing needs a separate process and as a subprocess under a memory limit where a file could take the
machine down; check that a refusal left nothing behind."""

from __future__ import annotations

import contextlib
import io
import os
import resource
import subprocess
import sys
from pathlib import Path

from scoring.cli import main
from scoring.sample import generate_county, write_dataset

MEMORY_LIMIT = 1 << 30  # address space of a subprocess under test: a scoring run needs well under 512 MB


def cli(*args, cwd: Path | None = None) -> tuple[int, str, str]:
    """``scoring ARGS`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main([str(a) for a in args])
            except SystemExit as e:  # argparse's usage errors
                rc = e.code if isinstance(e.code, int) else 2
    finally:
        os.chdir(old)
    return rc, out.getvalue(), err.getvalue()


def _limit_memory(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def cli_process(*args, cwd: Path, memory: int | None = MEMORY_LIMIT, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m scoring ARGS`` as a subprocess, under an address-space limit (resource.setrlimit)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "scoring", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env,
                          preexec_fn=_limit_memory(memory) if memory else None)


def temp_files(folder: Path) -> list[str]:
    """Files an interrupted or refused write could leave: atomic_output's ``.<stem>.*`` beside the target."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.is_file())


def assert_clean_refusal(rc: int, err: str, expected_rc: int, *lines: str, folder: Path, absent=()) -> None:
    """Refused with ``expected_rc``: every expected line in stderr, no traceback, none of the ``absent``
    outputs written and no temporary file left in ``folder``."""
    assert rc == expected_rc, err
    assert "Traceback" not in err
    for line in lines:
        assert line in err, (line, err)
    for p in absent:
        assert not Path(p).exists(), p
    assert temp_files(folder) == []


_BOOKS: dict[tuple[int, int], bytes] = {}


def county_workbook(folder: Path, n: int = 4, seed: int = 7) -> Path:
    """A small generated county in one workbook (every table the default rubric reads); generated once
    per test process, copied for every module that asks."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "county.xlsx"
    if (n, seed) not in _BOOKS:
        write_dataset(generate_county(n, seed=seed), path)
        _BOOKS[(n, seed)] = path.read_bytes()
    else:
        path.write_bytes(_BOOKS[(n, seed)])
    return path
