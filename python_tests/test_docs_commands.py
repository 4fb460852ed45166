"""Every command a newcomer copies from the README and docs/ works as written,
in the order written, on a fresh checkout after the README's set-up.

The pages are read as a newcomer reads them: README.md, then the pages its
"Documentation" section lists, in that order, then any other page of docs/.
Each ```bash block's commands run in one shell per page, and each ```python
block as a script, all in one copy of the checkout (so a page can use what an
earlier one made) with the environment the tests run in (the set-up done).
New commands are picked up as they are written: nothing lists them here.

A block that cannot run in CI (it needs a GPU, several processes, a download)
says so where a reader sees it, in an HTML comment right before the block:
`<!-- ci:skip the reason -->`; the blocks after `<!-- ci:install -->` and
`<!-- ci:test -->` are the set-up and the test command, which .ci/run runs.
Nothing else is left out.

So that the whole takes a few minutes, a command that trains gets the
smallest settings its program takes (CI_SETTINGS) at the end of its line;
everything else runs as written. Deselect it locally with -m "not docs"."""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO

# A pattern a command matches -> what CI adds to it (the first match wins):
# one epoch on 1,000 generated pairs (a TSV task reads its file whole), and
# for an example its --quick settings too.
CI_SETTINGS = (
    (r"-m seq2seq_ext (train|sweep)\b", "--epochs 1 --examples 1000"),
    (
        r"examples/(reverse_words|translate_tsv|arithmetic|add_two_digits)\.py\b",
        "--quick --epochs 1 --examples 1000",
    ),
    (r"examples/char_lm_demo\.py\b", "--quick --seconds 2"),
    (r"examples/\w+\.py\b", "--quick"),
)
SHELLS, PYTHON = ("bash", "sh", "shell"), "python"
SET_UP = {
    "ci:install": "the set-up, which .ci/run runs",
    "ci:test": "the tests, which .ci/run runs",
}
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
MARK = "@@ command"


@dataclass
class Block:
    page: str  # e.g. docs/training.md
    line: int  # of its opening fence
    language: str
    code: str
    skip: str = ""  # why CI does not run it ("" : it runs)


@dataclass
class Command:
    where: str  # page:line
    text: str  # as the page has it
    run: str  # as CI runs it


def reading_order(root: Path) -> list[str]:
    """README.md, the pages its Documentation section links (in order), then
    the other pages of docs/ and CONTRIBUTING.md."""
    readme = (root / "README.md").read_text()
    section = readme.split("\n## Documentation", 1)[-1].split("\n## ", 1)[0]
    listed = re.findall(r"\]\(([^)#]+\.md)\)", section)
    pages = ["README.md", *dict.fromkeys(listed)]
    others = sorted(str(p.relative_to(root)) for p in (root / "docs").glob("*.md"))
    return [*pages, *(p for p in [*others, "CONTRIBUTING.md"] if p not in pages)]


def blocks_of(page: str, text: str) -> list[Block]:
    """The page's ```bash and ```python blocks, each with what its marker says."""
    found = []
    for fence in FENCE.finditer(text):
        language = fence.group(1).lower()
        if language not in (*SHELLS, PYTHON):
            continue
        block = Block(page, text.count("\n", 0, fence.start()) + 1, language, fence.group(2))
        before = text[: fence.start()].rstrip()
        if before.endswith("-->"):
            comment = before[before.rindex("<!--") + 4 : -3].strip()
            word, _, reason = comment.partition(" ")
            if word == "ci:skip":
                if not reason.strip():
                    raise ValueError(f"{page}:{block.line}: ci:skip needs a reason")
                block.skip = reason.strip()
            block.skip = SET_UP.get(word, block.skip)
        found.append(block)
    return found


def commands_of(block: Block) -> list[Command]:
    """A shell block's commands (a line, with its continuation lines), each
    with CI's settings added; a python block is one command."""
    if block.language == PYTHON:
        text = block.code
        run = f"python - <<'PYTHON_BLOCK'\n{text}PYTHON_BLOCK"
        return [Command(f"{block.page}:{block.line + 1}", text, run)]
    commands, pending, start = [], "", 0
    for offset, line in enumerate(block.code.splitlines(), start=block.line + 1):
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        start = start if pending else offset
        pending += line
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        commands.append(Command(f"{block.page}:{start}", pending, with_ci_settings(pending)))
        pending = ""
    return commands


def with_ci_settings(command: str) -> str:
    """`command` with the CI_SETTINGS it matches at the end of the simple
    command the match is in (before a comment, pipe, redirection or `&&`)."""
    for pattern, settings in CI_SETTINGS:
        match = re.search(pattern, command)
        if match:
            # an option with its values (last, it wins), or a flag the command lacks
            options = re.findall(r"--\S+(?: (?!--)\S+)*", settings)
            words = command.split()
            settings = " ".join(o for o in options if " " in o or o not in words)
            end = _end_of_simple_command(command, match.end())
            return f"{command[:end].rstrip()} {settings} {command[end:]}".rstrip()
    return command


def _end_of_simple_command(command: str, start: int) -> int:
    quote = None
    for index in range(start, len(command)):
        char = command[index]
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "|;&<>" or (char == "#" and command[index - 1].isspace()):
            return index
    return len(command)


def page_script(commands: list[Command]) -> str:
    """A bash script running `commands` in order, each announced by a mark
    line (the time, and the CPU time of the commands so far: `times`'s
    second line) so the output can be cut per command."""
    mark = f'times >"$TIMES"; echo "{MARK} %s $EPOCHREALTIME $(tail -n 1 "$TIMES" | tr " " _)"'
    lines = ["set -eo pipefail"]
    for index, command in enumerate(commands):
        lines += [mark % index, command.run]
    lines.append(mark % "end")
    return "\n".join(lines) + "\n"


def fresh_checkout(destination: Path) -> Path:
    """The checkout's files (tracked, and new ones git does not ignore) and
    its compiled library copied to `destination`, as a clone after the
    set-up's build has them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    built = [p.relative_to(REPO) for p in (REPO / "seq2seq_ext").glob("_C*.so")]
    for name in [*map(os.fsdecode, filter(None, listed)), *map(str, built)]:
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    if sys.prefix != sys.base_prefix:  # `. .venv/bin/activate` finds the set-up's venv
        (destination / ".venv").symlink_to(sys.prefix)
    return destination


def run_page(checkout: Path, commands: list[Command]) -> tuple[list, str]:
    """Runs a page's commands in one shell; returns (command, seconds, CPU
    seconds, output) of each command that ran, and the error (empty if all
    succeeded)."""
    environment = {
        **os.environ,
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]),
        "PYTHONPATH": str(checkout),  # the copy's package, not the checkout's
        "SEQ2SEQ_EXT_REQUIRE_COMPILED": "1",
        "MPLBACKEND": "Agg",
        "TIMES": str(checkout.parent / "times"),  # page_script's, outside the checkout
    }
    completed = subprocess.run(
        ["bash", "-c", page_script(commands)],
        cwd=checkout,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )
    parts = re.split(rf"^{MARK} (\S+) (\S+) (\S+)\n", completed.stdout, flags=re.M)
    marks = [
        (index, float(time), _cpu_seconds(cpu), output)
        for index, time, cpu, output in zip(parts[1::4], parts[2::4], parts[3::4], parts[4::4])
    ]
    ran = [
        (commands[int(index)], next_time - time, next_cpu - cpu, output)
        for (index, time, cpu, output), (_, next_time, next_cpu, _) in zip(marks, marks[1:])
    ]
    if completed.returncode == 0:
        return ran, ""
    failed, _, _, output = marks[-1]
    command = commands[int(failed)]
    return ran, (
        f"{command.where}: `{command.text}` (run as `{command.run}`) exited with"
        f" {completed.returncode}:\n{output[-3000:]}"
    )


def _cpu_seconds(times: str) -> float:
    """`times`'s line of the children ("0m1.50s_0m0.20s": user, system) in seconds."""
    return sum(60 * float(m) + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", times))


# ---------------------------------------------------------------- the reader


def test_reading_order_covers_every_page():
    order = reading_order(REPO)
    assert order[0] == "README.md" and "docs/training.md" in order
    pages = {"README.md", "CONTRIBUTING.md"} | {
        str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md")
    }
    assert set(order) == pages and len(order) == len(pages)


def test_blocks_their_markers_and_commands():
    page = """Text.

<!-- ci:install -->
```bash
pip install -e .
```

```bash
# a comment line
python -m seq2seq_ext train --task tsv \\
    --out runs/x   # the run
cat a | head -n 2
```

```yaml
out: not a command
```

```
not a command either
```

<!-- ci:skip needs a GPU -->
```python
import torch
torch.zeros(1, device="cuda")
```

<!-- a comment that is no marker -->
```python
print("runs")
```
"""
    blocks = blocks_of("page.md", page)
    assert [(b.line, b.language, b.skip) for b in blocks] == [
        (4, "bash", SET_UP["ci:install"]),
        (8, "bash", ""),
        (24, "python", "needs a GPU"),
        (30, "python", ""),
    ]
    commands = commands_of(blocks[1])
    assert [(c.where, c.run) for c in commands] == [
        (
            "page.md:10",
            "python -m seq2seq_ext train --task tsv      --out runs/x"
            " --epochs 1 --examples 1000 # the run",
        ),
        ("page.md:12", "cat a | head -n 2"),
    ]
    assert (
        commands_of(blocks[3])[0].run == "python - <<'PYTHON_BLOCK'\nprint(\"runs\")\nPYTHON_BLOCK"
    )
    with pytest.raises(ValueError, match="page.md:2: ci:skip needs a reason"):
        blocks_of("page.md", "<!-- ci:skip -->\n```bash\nls\n```\n")


@pytest.mark.parametrize(
    "command,expected",
    [
        ("python examples/reverse_words.py", "python examples/reverse_words.py --quick --epochs 1"),
        ("python examples/arithmetic.py --quick", "examples/arithmetic.py --quick --epochs 1"),
        (
            "python examples/count_flops.py --out x",
            "python examples/count_flops.py --out x --quick",
        ),
        (
            "python -m seq2seq_ext sweep --values 1 2 && ls",
            "python -m seq2seq_ext sweep --values 1 2 --epochs 1 --examples 1000 && ls",
        ),
        ('python -m seq2seq_ext translate "a b" > out.txt', None),
        ("python -m seq2seq_ext train --config 'a # b.yaml'>log", "--examples 1000 >log"),
    ],
)
def test_ci_settings_end_the_training_command(command, expected):
    result = with_ci_settings(command)
    if expected is None:
        assert result == command
    else:
        assert expected in result


# ---------------------------------------------------------------- the run


@pytest.mark.docs
def test_the_docs_commands_run_in_order(tmp_path):
    """Runs every page's blocks, page after page, in one fresh copy of the
    checkout; fails naming each page's failing command with its output. The
    time and CPU time each command took are printed (pytest -s shows them)."""
    checkout = fresh_checkout(tmp_path / "checkout")
    errors, report = [], []
    for page in reading_order(REPO):
        blocks = blocks_of(page, (REPO / page).read_text())
        report += [f"{b.page}:{b.line}: not run: {b.skip}" for b in blocks if b.skip]
        commands = [c for b in blocks if not b.skip for c in commands_of(b)]
        if not commands:
            continue
        ran, error = run_page(checkout, commands)
        report += [
            f"{seconds:6.1f} s {cpu:6.1f} s CPU  {c.where}: {c.run.splitlines()[0]}"
            for c, seconds, cpu, _ in ran
        ]
        if error:
            errors.append(error)
    print("\n".join(report))
    assert not errors, "\n\n".join(errors)
