"""The documentation stays true to the repository: links resolve, every flag is documented, the README stays short.

- Every relative link and image in README.md and docs/*.md points to an existing file (relative to the linking
  file), and every ``#anchor`` into a Markdown file (or within one) names one of its headings, slugged as GitHub
  does.
- Every option string of ``nstyle --help``, ``nstyle batch --help`` and ``nstyle video --help`` (taken from the
  parsers nstyle/cli.py builds, not from text) appears in docs/usage.md as ```--flag```, as the subject of exactly
  one table row.
- README.md is under 200 lines and holds the test-command markers that .ci/run extracts its test command from.
- Every ``nstyle/...py`` path and `` `nstyle.x.y` `` name in them exists; usage.md gives each plain default of
  ``Config``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

import helpers

ROOT = Path(helpers.ROOT).resolve()
README = ROOT / "README.md"
USAGE = ROOT / "docs" / "usage.md"
README_MAX_LINES = 200
TEST_MARKERS = ("<!-- test-command -->", "<!-- /test-command -->")


def markdown_files() -> List[Path]:
    """README.md and every Markdown file under docs/."""
    return [README, *sorted((ROOT / "docs").rglob("*.md"))]


def rel(path: Path) -> str:
    """``path`` relative to the repository, for messages."""
    return os.path.relpath(path, ROOT)


# ---- reading Markdown ------------------------------------------------------------------------------------------

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) and ![alt](target); the target may be <in angle brackets> and may be followed by a "title".
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)


def prose_lines(path: Path) -> Iterator[Tuple[int, str]]:
    """``(line number, line)`` of ``path`` outside fenced code blocks, with inline code spans blanked out."""
    in_fence = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            yield number, INLINE_CODE.sub("``", line)


def links(path: Path) -> Iterator[Tuple[int, str]]:
    """``(line number, target)`` of every inline link, image and reference definition in ``path``."""
    for number, line in prose_lines(path):
        targets = [m.group(1) for m in INLINE_LINK.finditer(line)]
        definition = REFERENCE_DEF.match(line)
        if definition:
            targets.append(definition.group(1))
        for target in targets:
            yield number, target[1:-1] if target.startswith("<") else target


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text (links and markup dropped) lowercased, punctuation other than hyphens
    removed (underscores are kept, as GitHub keeps them), spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading counts by its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> Set[str]:
    """Every anchor GitHub gives ``path``: its headings' slugs (repeats numbered ``-1``, ``-2``, ...) and any
    explicit ``<a name=...>`` or ``<a id=...>``."""
    found: Set[str] = set()
    seen: Dict[str, int] = {}
    in_fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        found.update(HTML_ANCHOR.findall(line))
        heading = HEADING.match(line)
        if heading:
            base = slug(heading.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def is_external(target: str) -> bool:
    return re.match(r"^(https?:|mailto:)", target, re.IGNORECASE) is not None


# ---- (a) links -------------------------------------------------------------------------------------------------


def test_docs_exist():
    assert USAGE.is_file(), "docs/usage.md is missing"
    assert len(markdown_files()) > 1, "no Markdown files under docs/"


@pytest.mark.parametrize("page", markdown_files(), ids=rel)
def test_relative_links_resolve_to_files_and_headings(page: Path):
    problems = []
    for number, target in links(page):
        if is_external(target) or target.startswith("#"):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (page.parent / file_part).resolve()
        where = f"{rel(page)}:{number}: link to {target!r}"
        if not resolved.exists():
            problems.append(f"{where}: no such file {rel(resolved)}")
        elif anchor and resolved.suffix.lower() == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where}: {rel(resolved)} has no heading with anchor #{anchor}")
    assert not problems, "broken links:\n" + "\n".join(problems)


@pytest.mark.parametrize("page", markdown_files(), ids=rel)
def test_anchors_within_a_page_name_its_headings(page: Path):
    own = anchors(page)
    missing = [f"{rel(page)}:{number}: link to {target!r}: no heading with that anchor here"
               for number, target in links(page) if target.startswith("#") and target[1:] not in own]
    assert not missing, "broken anchors:\n" + "\n".join(missing)


def test_slugs_follow_githubs_rules():
    assert slug("Print size: tiles") == "print-size-tiles"
    assert slug("L-BFGS: SciPy's L-BFGS-B or our own") == "l-bfgs-scipys-l-bfgs-b-or-our-own"
    assert slug("With Adam (the setting first recommended)") == "with-adam-the-setting-first-recommended"
    assert slug("`nstyle batch` and `--workers`") == "nstyle-batch-and---workers"
    assert slug("runs_jsonl and [the report](batch.md)") == "runs_jsonl-and-the-report"


# ---- (b) every flag in docs/usage.md ---------------------------------------------------------------------------

HELP_FLAGS = {"-h", "--help"}


def option_strings() -> Dict[str, List[str]]:
    """The option strings of ``nstyle`` and ``nstyle batch`` (without -h/--help), from the parsers nstyle.cli
    builds; if they cannot be built in this process, from ``--help`` run in a subprocess."""
    try:
        from nstyle import cli

        parsers = {"nstyle": cli.build_parser(), "nstyle batch": cli.build_batch_parser(),
                   "nstyle video": cli.build_video_parser()}
        return {name: [s for action in parser._actions for s in action.option_strings if s not in HELP_FLAGS]
                for name, parser in parsers.items()}
    except Exception:  # pragma: no cover - only when the parsers cannot be built in-process
        commands = {"nstyle": ["--help"], "nstyle batch": ["batch", "--help"], "nstyle video": ["video", "--help"]}
        return {name: help_option_strings(args) for name, args in commands.items()}


def help_option_strings(args: List[str]) -> List[str]:
    """The option strings listed by ``python -m nstyle ARGS`` (a ``--help`` call), -h/--help excluded."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "nstyle", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)
    assert proc.returncode == 0, f"python -m nstyle {' '.join(args)} failed:\n{proc.stderr}"
    help_text = proc.stdout.split("\nexamples:")[0]
    body = help_text.split("\n\n", 1)[-1]  # after the usage block
    found = re.findall(r"(?:^|[\s,])(--?[A-Za-z][\w-]*)", body)
    return sorted(set(found) - HELP_FLAGS)


FLAGS = option_strings()


def test_the_parsers_have_flags():
    for command, flags in FLAGS.items():
        assert "--style-image" in flags and "--max-long-edge" in flags, f"{command}: found only {flags}"


@pytest.mark.parametrize("command", sorted(FLAGS))
def test_every_flag_is_in_usage(command: str):
    text = USAGE.read_text(encoding="utf-8")
    missing = [flag for flag in FLAGS[command] if f"`{flag}`" not in text]
    assert not missing, f"docs/usage.md does not mention these flags of `{command} --help` as `--flag`: " + ", ".join(
        missing)


def table_subjects() -> List[Tuple[int, str]]:
    """``(line number, first cell)`` of every table row of docs/usage.md (header and separator rows excluded)."""
    rows = []
    for number, line in enumerate(USAGE.read_text(encoding="utf-8").splitlines(), 1):
        cells = line.strip().strip("|").split("|")
        if line.lstrip().startswith("|") and cells and not re.fullmatch(r"[\s:-]*", cells[0]) \
                and cells[0].strip() != "flag":
            rows.append((number, cells[0]))
    return rows


def test_every_flag_is_documented_in_exactly_one_table_row():
    rows = table_subjects()
    problems = []
    for flag in sorted({f for flags in FLAGS.values() for f in flags}):
        where = [number for number, cell in rows if f"`{flag}`" in cell]
        if len(where) != 1:
            problems.append(f"{flag}: in the first cell of {len(where)} table rows"
                            + (f" (lines {', '.join(map(str, where))})" if where else ""))
    assert not problems, "docs/usage.md should document each flag in one table row:\n" + "\n".join(problems)


def test_documented_defaults_are_configs():
    """Where a setting has a plain default (a number or a word), its row in docs/usage.md gives that default, so a
    changed default cannot leave the docs behind."""
    import dataclasses

    from nstyle.config import Config

    rows = {}
    for line in USAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        flag = re.match(r"`(--[a-z0-9-]+)`", cells[0]) if len(cells) >= 3 else None
        if flag:
            rows[flag.group(1)] = cells[1]
    wrong = []
    for field in dataclasses.fields(Config):
        default = field.default
        if default is dataclasses.MISSING or default is None or isinstance(default, bool):
            continue  # "auto", "off" and the like are words the docs choose
        shown = f"{default:g}" if isinstance(default, float) else str(default)
        flag = "--" + field.name.replace("_", "-")
        if not rows.get(flag, "").startswith(f"`{shown}`"):
            wrong.append(f"{flag}: Config says {shown!r}, docs/usage.md says {rows.get(flag)!r}")
    assert not wrong, "defaults in docs/usage.md differ from Config:\n" + "\n".join(wrong)


# ---- (c) the README --------------------------------------------------------------------------------------------


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines; keep it under {README_MAX_LINES}"


def test_readme_holds_the_test_command_for_ci():
    lines = README.read_text(encoding="utf-8").splitlines()
    for marker in TEST_MARKERS:
        assert lines.count(marker) == 1, f"README.md must hold the line {marker!r} exactly once (.ci/run reads it)"
    start, end = (lines.index(marker) for marker in TEST_MARKERS)
    assert start < end, f"README.md: {TEST_MARKERS[0]!r} must come before {TEST_MARKERS[1]!r}"
    command = [line for line in lines[start + 1:end] if line.strip() and not line.startswith("```")]
    assert command, "README.md: no command between the test-command markers"
    assert any("pytest" in line for line in command), f"README.md: the test command runs no pytest: {command}"


# ---- names of the code ---------------------------------------------------------------------------------------------

CODE_PATH = re.compile(r"\bnstyle/[A-Za-z_/]+\.py\b")
DOTTED_NAME = re.compile(r"`(nstyle(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def resolves(dotted: str) -> bool:
    """Whether ``nstyle.a.b.c`` is a module, or an attribute reached from the longest importable module prefix."""
    import importlib

    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for name in parts[i:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


@pytest.mark.parametrize("page", markdown_files(), ids=rel)
def test_named_modules_and_files_exist(page):
    """Every ``nstyle/...py`` path and every `` `nstyle.x.y` `` name the page gives exists, so the next move of a
    module cannot leave the docs pointing at its old place."""
    text = page.read_text(encoding="utf-8")
    missing = sorted({p for p in CODE_PATH.findall(text) if not (ROOT / p).is_file()})
    missing += sorted({n for n in DOTTED_NAME.findall(text) if not resolves(n.rstrip("."))})
    assert not missing, f"{rel(page)} names what does not exist: {', '.join(missing)}"
