"""The user-facing READMEs: short, no run history, no machine paths, and every command in them exists here."""
import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
READMES = ["README.md", "mobile/README.md"]
LAB_BOOK = "docs/experiments.md"


def text(rel):
    return (REPO / rel).read_text()


def code_blocks(markdown):
    """Fenced blocks and indented (4-space) blocks, as text."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, flags=re.S | re.M)
    indented = re.findall(r"(?:^(?: {4}|\t)[^\n]*\n)+", re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M), flags=re.M)
    return fenced + indented


def console_scripts():
    return set(tomllib.loads(text("pyproject.toml"))["project"]["scripts"])


def test_readme_is_short():
    assert len(text("README.md").splitlines()) <= 250


@pytest.mark.parametrize("rel", READMES + [LAB_BOOK])
def test_no_machine_paths(rel):
    assert not re.findall(r"/work/\S*", text(rel))


@pytest.mark.parametrize("rel", READMES)
def test_no_numbered_run_history(rel):
    assert not re.findall(r"\bsessions?\s+\d+", text(rel), flags=re.I)


@pytest.mark.parametrize("rel", READMES)
def test_every_command_exists(rel):
    scripts, missing, seen = console_scripts(), [], 0
    for block in code_blocks(text(rel)):
        for path in re.findall(r"\bpython3?\s+((?:pipeline|mobile|tests|tools)/[\w/.-]+\.py)\b", block):
            seen += 1
            if not (REPO / path).is_file():
                missing.append(path)
        for module in re.findall(r"\bpython3?\s+-m\s+([\w.]+)", block):
            seen += 1
            if module in ("pytest", "pip"):
                continue
            base = REPO / module.replace(".", "/")
            if not (base.with_suffix(".py").is_file() or (base / "__main__.py").is_file()):
                missing.append(module)
        for name in re.findall(r"(?<![\w/-])(distilkit-[\w-]+)", block):
            seen += 1
            if name not in scripts:
                missing.append(name)
    assert seen, f"{rel}: no commands found in its code blocks"
    assert not missing, f"{rel} names commands that are not in the repository: {missing}"


def test_the_two_commands():
    """The README's test command is the one .ci/run runs; the first builds on the embedded default."""
    blocks = "\n".join(code_blocks(text("README.md")))
    assert "pip install -e . && python pipeline/build_all.py" in blocks
    ci = [line.strip() for line in text(".ci/run").splitlines() if "pytest" in line and not line.lstrip().startswith("#")]
    assert ci and all(line in blocks for line in ci), ci


def test_the_lab_book_keeps_the_history():
    """Trials and sweeps moved out of the README live in the lab book, each with its commit."""
    book = text(LAB_BOOK)
    for trial in ["T1 (15)", "T22a (22)", "T23a (23)", "T24c (24)", "T27a (27)", "S3 (18)", "S9 (27)"]:
        assert trial in book, trial
    rows = [line for line in book.splitlines() if re.match(r"\| (?:T\d|S\d|[A-Z]\d?-?\w* \(|\()", line)]
    assert rows and all(re.search(r"\| [0-9a-f]{7} \|", row) for row in rows), [r[:60] for r in rows if not re.search(r"\| [0-9a-f]{7} \|", r)]
