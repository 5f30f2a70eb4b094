"""The rubric authors' guide (docs/rubric_guide.md) is tested: every example it shows is run.

The guide marks what is checked with HTML comments placed on the line right before a fenced block:

    <!-- example: NAME -->   a valid rubric, saved as NAME.toml; it must load with scoring.engine.load
    <!-- broken: NAME -->    a deliberately invalid rubric, saved as NAME.toml; loading raises RubricError
    <!-- error: NAME -->     every line of the block (except "……") appears in that RubricError's text
    <!-- file: NAME -->      the block is rubrics/examples/NAME verbatim (the local plugin); saved as NAME
    <!-- run -->             a console block: each "$ scoring ..." line is run in the folder holding the
                             examples and its output compared line by line (only the lines shown when the
                             block elides some with "……")
    <!-- says: RUBRIC -->    every line is an explanation (indicator, bonus, veto) produced when RUBRIC (an
                             example or a built-in) scores the sample county
    <!-- excerpt: RUBRIC --> every line appears, in order, in the built-in rubric file rubrics/RUBRIC.toml

and, on their own, outcome checks on the sample county whose value the paragraph just above states:

    <!-- check: RUBRIC level LABEL = N -->       N branches end at level LABEL
    <!-- check: RUBRIC level_of BRANCH = LABEL -->
    <!-- check: RUBRIC total BRANCH = X -->      the total, to two decimals
    <!-- check: RUBRIC points BRANCH = X -->     the sum of the branch's indicator points
    <!-- check: RUBRIC max BRANCH = X -->        the sum of the maxima that apply to the branch
    <!-- check: RUBRIC dimension BRANCH a+b = X --> the sum of those dimensions' scores
    <!-- check: RUBRIC branches PARENT = N -->   N branches under that township
    <!-- check: RUBRIC quota_down LABEL = N -->  N branches moved down from LABEL by a quota
    <!-- check: RUBRIC bonus_point LEVEL = X -->  the merged rubric's bonus points for that level
    <!-- check: RUBRIC bonus_cap = X -->

Every other ``scoring ...`` command the guide shows (console blocks and inline code) must parse with the
real command-line parser. The sample county is the bundled sample_data/county_2025.xlsx, read once with
scoring.reader.read_dataset and scored with scoring.engine.score.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from scoring.cli import _parser, main
from scoring.engine import load, score
from scoring.errors import RubricError
from scoring.rubric_tools import diff, json_schema

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "rubric_guide.md"
SAMPLE = ROOT / "sample_data" / "county_2025.xlsx"
RUBRICS = ROOT / "rubrics"
ELIDED = "……"

MARKER = re.compile(r"^<!-- (example|broken|error|file|says|excerpt): (\S+) -->$")
CHECK = re.compile(r"^<!-- check: (.+) -->$")


@dataclass(frozen=True)
class Block:
    kind: str  # example, broken, error, file, says, excerpt, run, or "" for an unmarked block
    arg: str
    lang: str
    text: str
    line: int  # 1-based line of the opening fence

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def __repr__(self) -> str:
        return f"{self.kind}:{self.arg}@{self.line}"


@dataclass(frozen=True)
class Check:
    spec: str
    line: int
    paragraph: str  # the text the check stands under


def parse_guide(text: str) -> tuple[list[Block], list[Check]]:
    lines = text.splitlines()
    blocks: list[Block] = []
    checks: list[Check] = []
    i = 0
    pending: tuple[str, str] | None = None
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line)
        if m or line == "<!-- run -->":
            assert pending is None, f"line {i + 1}: two markers in a row"
            pending = (m.group(1), m.group(2)) if m else ("run", "")
            assert i + 1 < len(lines) and lines[i + 1].startswith("```"), f"line {i + 1}: a marker must precede a fence"
            i += 1
            continue
        c = CHECK.match(line)
        if c:
            j = i - 1
            while j >= 0 and CHECK.match(lines[j]):
                j -= 1
            para = []
            while j >= 0 and lines[j].strip() and not lines[j].startswith("```"):
                para.append(lines[j])
                j -= 1
            checks.append(Check(c.group(1), i + 1, "\n".join(reversed(para))))
            i += 1
            continue
        if line.startswith("```"):
            lang = line[3:].strip()
            start = i
            body = []
            i += 1
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            kind, arg = pending or ("", "")
            blocks.append(Block(kind, arg, lang, "\n".join(body) + "\n", start + 1))
            pending = None
        i += 1
    assert pending is None, "a marker at the end of the guide precedes no block"
    return blocks, checks


TEXT = GUIDE.read_text(encoding="utf-8")
BLOCKS, CHECKS = parse_guide(TEXT)


def of(kind: str) -> list[Block]:
    return [b for b in BLOCKS if b.kind == kind]


EXAMPLES = of("example")
BROKEN = of("broken")
ERRORS = {b.arg: b for b in of("error")}
RUNS = of("run")


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder holding every example and broken rubric, the local plugin and the sample county, as a
    county office following the guide would have it."""
    d = tmp_path_factory.mktemp("guide")
    for b in EXAMPLES + BROKEN:
        (d / f"{b.arg}.toml").write_text(b.text, encoding="utf-8")
    plugins = {b.arg for b in of("file")}
    plugins |= {p for b in EXAMPLES for p in tomllib.loads(b.text).get("plugins", [])}
    for name in plugins:  # the shipped local plugin, as the guide tells the reader to copy it
        shutil.copyfile(RUBRICS / "examples" / name, d / name)
    (d / "示例数据").mkdir()
    shutil.copyfile(SAMPLE, d / "示例数据" / "county_2025.xlsx")  # what `scoring sample -o 示例数据` writes
    return d


@pytest.fixture(scope="module")
def dataset(sample_county):
    return sample_county  # the bundled sample, read once per session (tests/conftest.py)


@pytest.fixture(scope="module")
def scored(workdir, dataset):
    """Score the sample county with a rubric named in the guide (an example's name or a built-in)."""
    cache = {}

    def get(name: str):
        if name not in cache:
            path = workdir / f"{name}.toml"
            rubric, reg, _ = load(path if path.is_file() else name)
            cache[name] = score(rubric, reg, dataset)
        return cache[name]

    return get


# ---------------------------------------------------------------- the guide's shape
def test_guide_has_what_the_brief_asks_for():
    names = [b.arg for b in EXAMPLES + BROKEN]
    assert len(names) == len(set(names)), "example names must be unique"
    assert len(EXAMPLES) >= 15 and len(BROKEN) >= 2
    assert set(ERRORS) == {b.arg for b in BROKEN}, "every broken example has exactly one error block"
    assert all(b.lang == "toml" for b in EXAMPLES + BROKEN)
    assert all(b.lang == "console" for b in RUNS)
    assert any(c.spec.startswith("county_lectures level 五星 = ") for c in CHECKS)
    assert any(b.lines[0] == "$ scoring rubric diff five_star county_lectures.toml" for b in RUNS)
    for heading in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "## 7.", "## 8."):
        assert f"\n{heading}" in TEXT
    for word in ("TODO", "TBD", "FIXME"):
        assert word not in TEXT
    for n, line in enumerate(TEXT.splitlines(), 1):  # a misspelt marker would silently check nothing
        if line.startswith("<!-- "):
            assert MARKER.match(line) or CHECK.match(line) or line == "<!-- run -->", f"line {n}: {line}"


def test_every_rule_type_and_effect_is_explained():
    for rule in ("deduct_shortfall", "steps", "linear", "ratio", "pass_fail", "per_event", "per_unit", "manual",
                 "extra_deductions"):
        assert f"**{rule}" in TEXT, rule
    for effect in ("no_rating", "cap", "deduct", "flag", "award"):
        assert f'`"{effect}"`' in TEXT, effect
    for model in ("stars", "grade", "per_dimension", "points", "sections"):
        assert f"**{model}：" in TEXT, model


# ---------------------------------------------------------------- examples load, broken ones fail as told
@pytest.mark.parametrize("block", EXAMPLES, ids=[b.arg for b in EXAMPLES])
def test_example_loads(block, workdir):
    rubric, _, _ = load(workdir / f"{block.arg}.toml")
    assert rubric.id == block.arg, "an example's id is its file name, so that the guide's commands match"


@pytest.mark.parametrize("block", BROKEN, ids=[b.arg for b in BROKEN])
def test_broken_example_gives_the_message_shown(block, workdir, monkeypatch):
    monkeypatch.chdir(workdir)  # so that messages name the file as the guide's reader sees it
    with pytest.raises(RubricError) as e:
        load(f"{block.arg}.toml")
    got = str(e.value)
    for line in ERRORS[block.arg].lines:
        if line.strip() and line.strip() != ELIDED:
            assert line.rstrip() in got.splitlines(), f"{line!r} not in:\n{got}"


def test_plugin_shown_is_the_shipped_one():
    for b in of("file"):
        assert b.text == (RUBRICS / "examples" / b.arg).read_text(encoding="utf-8")


def test_examples_follow_the_json_schema():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    for b in EXAMPLES:
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(tomllib.loads(b.text))]
        assert not errors, f"{b.arg}: {errors}"


# ---------------------------------------------------------------- commands
def _argv(command: str) -> list[str]:
    command = command.split(" > ")[0]  # a shell redirection is not the program's business
    argv = shlex.split(command)
    assert argv[0] == "scoring", command
    return argv[1:]


def _shown_commands() -> list[str]:
    out = [line[2:] for b in BLOCKS if b.lang == "console" for line in b.lines if line.startswith("$ ")]
    out += re.findall(r"`(scoring [^`]*)`", TEXT)
    return out


@pytest.mark.parametrize("command", sorted(set(_shown_commands())))
def test_every_command_shown_exists(command, capsys):
    argv = _argv(command)
    try:
        _parser().parse_args(argv)
        return
    except SystemExit as e:  # argparse's way of refusing
        refused = e.code
    # a command named in passing ("`scoring rubric diff` shows ...") has no arguments yet: it must exist
    if not any(a.startswith("-") for a in argv):
        with pytest.raises(SystemExit) as e:
            _parser().parse_args(argv + ["--help"])
        if e.value.code == 0:
            return
    pytest.fail(f"the guide shows a command the program refuses: {command} (exit {refused})")


def _segments(block: Block) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for line in block.lines:
        if line.startswith("$ "):
            out.append((line[2:], []))
        else:
            assert out, f"{block!r}: output before any command"
            out[-1][1].append(line.rstrip())
    return out


def _matches(expected: list[str], got: list[str]) -> bool:
    if ELIDED not in expected:
        return expected == got
    it = iter(got)
    return all(any(g == e for g in it) for e in expected if e != ELIDED)


@pytest.mark.parametrize("block", RUNS, ids=[repr(b) for b in RUNS])
def test_console_output_is_what_the_program_prints(block, workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    for command, expected in _segments(block):
        capsys.readouterr()
        code = main(_argv(command))
        got = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
        assert code == 0, command
        assert _matches(expected, got), f"{command}\nexpected:\n" + "\n".join(expected) + "\ngot:\n" + "\n".join(got)


def test_county_lectures_diff_is_exactly_what_rubric_tools_diff_gives(workdir):
    block = next(b for b in RUNS if b.lines[0] == "$ scoring rubric diff five_star county_lectures.toml")
    shown = block.lines[1:]
    a, _, shown_a = load("five_star")
    b, reg_b, _ = load(workdir / "county_lectures.toml")
    text, n = diff(a, b, shown_a, "county_lectures.toml", reg_b)
    assert text.splitlines() == shown
    assert n == 3


# ---------------------------------------------------------------- outcomes on the sample county
@pytest.mark.parametrize("block", of("says"), ids=[repr(b) for b in of("says")])
def test_explanations_shown_are_produced(block, scored):
    res = scored(block.arg)
    said = set(res.indicators["explanation"]) | set(res.bonus["explanation"]) | set(res.vetoes["explanation"])
    for line in block.lines:
        assert line in said, f"{block.arg} never says: {line}"


@pytest.mark.parametrize("block", of("excerpt"), ids=[repr(b) for b in of("excerpt")])
def test_excerpts_are_quoted_from_the_builtin_rubrics(block):
    source = [x.strip() for x in (RUBRICS / f"{block.arg}.toml").read_text(encoding="utf-8").splitlines()]
    it = iter(source)
    for line in block.lines:
        if line.strip():
            assert any(s == line.strip() for s in it), f"{line!r} is not in rubrics/{block.arg}.toml (in this order)"


def _measure(res, kind: str, args: list[str]):
    b = res.branches.set_index("branch_id")
    if kind == "level":
        return int((b["level"] == args[0]).sum())
    if kind == "level_of":
        return b.loc[args[0], "level"]
    if kind == "total":
        return round(float(b.loc[args[0], "total"]), 2)
    if kind == "points":
        ind = res.indicators
        return round(float(ind.loc[ind["branch_id"] == args[0], "points"].sum()), 2)
    if kind == "max":  # the full marks that apply to the branch (not applicable indicators leave theirs out)
        ind = res.indicators
        return round(float(ind.loc[ind["branch_id"] == args[0], "max"].sum()), 2)
    if kind == "dimension":
        d = res.dimensions
        sel = d[(d["branch_id"] == args[0]) & d["dimension"].isin(args[1].split("+"))]
        assert len(sel) == len(args[1].split("+")), args
        return round(float(sel["score"].sum()), 2)
    if kind == "quota_down":
        return int(b["quota_note"].str.startswith(f"因名额限制由{args[0]}调整为").sum())
    if kind == "bonus_point":
        return float(res.rubric.bonus.points[args[0]])
    if kind == "bonus_cap":
        return float(res.rubric.bonus.cap)
    if kind == "branches":
        return int((b["parent"] == args[0]).sum())
    raise AssertionError(f"unknown check kind {kind}")


@pytest.mark.parametrize("check", CHECKS, ids=[f"{c.spec}@{c.line}" for c in CHECKS])
def test_stated_outcomes_on_the_sample_county(check, scored):
    left, value = (x.strip() for x in check.spec.rsplit("=", 1))
    rubric, kind, *args = left.split()
    got = _measure(scored(rubric), kind, args)
    expected = type(got)(value) if not isinstance(got, float) else float(value)
    assert got == expected, f"{check.spec}: the program gives {got}"
    assert value in check.paragraph, f"line {check.line}: the text above does not state {value}"


def test_sample_command_writes_where_the_guide_reads(tmp_path, monkeypatch, capsys):
    """The guide makes its trial data with `scoring sample -o 示例数据` and reads 示例数据/county_2025.xlsx
    (a small county here: only the file's name and place are at stake)."""
    assert "$ scoring sample -o 示例数据" in TEXT and "示例数据/county_2025.xlsx" in TEXT
    monkeypatch.chdir(tmp_path)
    assert main(["sample", "--branches", "3", "-o", "示例数据"]) == 0
    assert (tmp_path / "示例数据" / "county_2025.xlsx").is_file()
