"""The docs name files that exist, and docs/architecture.md names every file
of the repository (the layout a reader learns the code from)."""

import re
import subprocess

from conftest import REPO

# Folders docs/architecture.md describes as a whole: their files are of one kind.
DESCRIBED_AS_A_WHOLE = ("python_tests/", "docs/examples/", "benchmarks/results/")


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [name for name in listed if (REPO / name).is_file()]


def pages() -> list[str]:
    return [
        "README.md",
        "CONTRIBUTING.md",
        *sorted(f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")),
    ]


def path_regex(pattern: str) -> str:
    """A path as the docs write a family of them: <name> or * for any one
    name, {a,b} for either."""
    parts = re.split(r"(<[^>/]+>|\*|\{[^}/]+\})", pattern)
    regex = ""
    for part in parts:
        if part == "*" or part.startswith("<"):
            regex += "[^/]*"
        elif part.startswith("{"):
            regex += "(?:" + "|".join(map(re.escape, part[1:-1].split(","))) + ")"
        else:
            regex += re.escape(part)
    return regex


def test_the_paths_the_docs_name_exist():
    """Every `path` in a page's inline code whose first folder is one of the
    repository's (so not runs/, OUT/, ...) names a file or folder that is
    there; `file.py::test` names the file."""
    files = tracked_files()
    folders = {name.split("/")[0] for name in files if "/" in name}
    missing = []
    for page in pages():
        for code in re.findall(r"`([^`\s]+)`", (REPO / page).read_text()):
            path = code.split("::")[0]
            if "/" not in path or path.split("/")[0] not in folders:
                continue
            regex = path_regex(path.rstrip("/"))
            if not any(re.fullmatch(regex, f) or re.match(regex + "/", f) for f in files):
                missing.append(f"{page}: {code}")
    assert not missing, missing


def test_architecture_names_every_file():
    """Each file is named in docs/architecture.md (its name, or its name
    without the extension as a word, or a pattern such as cases_*.py or
    reduced_dot_{portable,avx2}.cpp), or lies in a folder it describes as a
    whole."""
    text = (REPO / "docs" / "architecture.md").read_text()
    patterns = [
        path_regex(token)
        for token in re.findall(r"[\w.<>/-]*[*{][\w.<>{},*/-]*\.\w+", text)
        if "{" not in token or "}" in token
    ]
    unnamed = []
    for name in tracked_files():
        if name.startswith(DESCRIBED_AS_A_WHOLE):
            continue
        base = name.rsplit("/", 1)[-1]
        stem = base.split(".")[0]
        if re.search(rf"(?<![\w-]){re.escape(base)}(?![\w-])", text):
            continue
        if stem and re.search(rf"(?<![\w./-]){re.escape(stem)}(?![\w-])", text):
            continue
        if any(re.fullmatch(pattern, base) for pattern in patterns):
            continue
        unnamed.append(name)
    assert not unnamed, f"docs/architecture.md does not name: {unnamed}"
