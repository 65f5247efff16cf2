"""The README's table of primitives × backends is the output of ``advalidate primitives --markdown``, run through the
installed entry point: it is generated from the registrations and cannot drift from them."""

import re

import pytest

from advalidate.cli_primitives import BEGIN, END, REGENERATE, replace_block

from .cli_support import ROOT, environment, run

README = ROOT / "README.md"


def _block(document: str) -> str:
    start, end = document.find(BEGIN), document.find(END)
    assert 0 <= start < end, f"README.md has lost its primitives table markers ({BEGIN!r} ... {END!r})"
    return document[start:end + len(END)] + "\n"


def _columns(block: str) -> list[str]:
    header = next(line for line in block.splitlines() if line.startswith("| primitive | family |"))
    return [c.strip() for c in header.strip("|").split("|")][2:]


def test_the_readme_table_is_what_advalidate_primitives_prints(tmp_path):
    done = run(["primitives", "--markdown"], environment(tmp_path), tmp_path)
    assert done.returncode == 0, done.stderr
    readme = _block(README.read_text(encoding="utf-8"))
    left_out = re.findall(r"advalidate primitives: (\S+) left out of the table", done.stderr)
    if left_out and set(_columns(readme)) == set(_columns(done.stdout)) | set(left_out):
        pytest.skip(f"backends not installed here: {', '.join(left_out)} (the README's table has them)")
    assert done.stdout == readme, (
        f"README.md's primitives table is out of date: regenerate it with `{REGENERATE}` (run from the repository's "
        f"root with every backend of the table installed: {', '.join(_columns(readme))}), then review and commit "
        f"the diff.\nstderr: {done.stderr}")


def test_replace_block_keeps_the_rest_and_refuses_a_file_without_markers():
    doc = f"# title\n\nbefore\n\n{BEGIN}\nold\n{END}\n\n## after\n"
    new = replace_block(doc, f"{BEGIN}\nnew\n{END}\n")
    assert new == f"# title\n\nbefore\n\n{BEGIN}\nnew\n{END}\n\n## after\n"
    assert replace_block(new, f"{BEGIN}\nnew\n{END}\n") == new
    with pytest.raises(ValueError, match="markers"):
        replace_block("# no table here\n", f"{BEGIN}\n{END}\n")
