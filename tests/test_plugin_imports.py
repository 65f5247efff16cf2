"""A plug-in is written against the contract alone: every package under ``plugins/`` imports from advalidate only the
public names of :mod:`advalidate.plugin`, and those of ``advalidate`` itself (``advalidate.__all__``: what users
call, ``run_conformance`` among them) (issue 18: no private name, no other module of advalidate)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import advalidate
import advalidate.plugin

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
SOURCES = sorted(p for p in PLUGINS.rglob("*.py") if "egg-info" not in str(p) and "/build/" not in str(p))


def advalidate_imports(source: str):
    """``(module, name)`` for every import of advalidate in ``source`` (``name`` None for ``import advalidate.x``)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "advalidate":
            for alias in node.names:
                yield node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "advalidate":
                    yield alias.name, None


def problems(source: str) -> list[str]:
    out = []
    for module, name in advalidate_imports(source):
        if module == "advalidate" and (name == "plugin" or name in advalidate.__all__):
            continue
        if module != "advalidate.plugin":
            out.append(f"imports {module}{'.' + name if name else ''}: only advalidate.plugin is public to plug-ins")
        elif name not in advalidate.plugin.__all__:
            out.append(f"imports {name} from advalidate.plugin, which does not export it")
    return out


def test_there_are_plugins_to_check():
    assert any(p.name == "backend.py" for p in SOURCES), SOURCES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PLUGINS)))
def test_a_plugin_imports_only_the_public_plugin_api(path):
    assert problems(path.read_text()) == []


def test_the_check_refuses_a_private_or_internal_import():
    assert problems("from advalidate.render import _common\nfrom advalidate.plugin import Work") == [
        "imports advalidate.render._common: only advalidate.plugin is public to plug-ins"]
    assert problems("from advalidate.plugin import _lazy") == [
        "imports _lazy from advalidate.plugin, which does not export it"]
    assert problems("import advalidate.counting") == [
        "imports advalidate.counting: only advalidate.plugin is public to plug-ins"]
    assert problems("from advalidate import plugin, run_conformance\nfrom advalidate.plugin import CountingArray") == []
    assert problems("from advalidate import oracle") == [
        "imports advalidate.oracle: only advalidate.plugin is public to plug-ins"]


def test_every_public_name_of_the_plugin_api_is_documented_in_the_contract():
    contract = Path(advalidate.backends.contract.__file__).read_text()
    assert [name for name in advalidate.plugin.__all__ if f"``{name}``" not in contract and
            f":class:`{name}`" not in contract and f":func:`{name}`" not in contract] == []


def test_key_source_writes_the_index_key_as_stored_or_as_slices_and_names_what_it_cannot():
    from advalidate.plugin import key_source

    assert key_source([[0, 3, 1], 2]) == "0:3:1, 2" == key_source([slice(0, 3, 1), 2])
    assert key_source([[None, None, -1]]) == "::-1" and key_source([]) == "()"
    with pytest.raises(TypeError, match=r"'a' in \['a'\] is neither an int nor a \[start, stop, step\] triple"):
        key_source(["a"])
