"""The layers keep to their place (issue 16, ARCHITECTURE.md): geo/ imports no
store, service or page; models/ imports no service or page; no page and no
command calls a store write (every write goes through a service)."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

WRITES = (
    "add_",
    "set_",
    "update_",
    "delete_",
    "restore_",
    "import_",
    "save_",
    "link_",
    "flag_",
    "undo_",
    "remove_",
    "create_",
    "revoke_",
    "end_",
    "start_",
    "touch_",
)


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


@pytest.mark.parametrize(
    "package, forbidden",
    [
        ("geo", ("models", "services", "app_pages", "streamlit", "cli")),
        ("models", ("services", "app_pages", "streamlit", "cli")),
        ("services", ("app_pages", "streamlit", "cli")),
    ],
)
def test_a_layer_imports_only_the_layers_below(package, forbidden):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for mod in _imports(path):
            if mod.split(".")[0] in forbidden:
                bad.append((str(path.relative_to(ROOT)), mod))
    assert not bad, bad


def test_no_page_or_command_writes_to_the_store_itself():
    bad = []
    for path in sorted((ROOT / "app_pages").glob("*.py")) + [ROOT / "cli.py", ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("store", "admin", "base")
                and node.func.attr.startswith(WRITES)
            ):
                bad.append((path.name, node.lineno, node.func.attr))
    assert not bad, bad


def _tests_the_language(test: ast.expr) -> bool:
    """Whether an ``IfExp``'s test picks a language: the name ``vi``, or a
    comparison of anything with the string ``"vi"`` (``lang == "vi"``,
    ``"vi" != L``)."""
    if isinstance(test, ast.Name):
        return test.id == "vi"
    if isinstance(test, ast.Compare):
        return any(isinstance(side, ast.Constant) and side.value == "vi" for side in [test.left, *test.comparators])
    return False


def _inline_language_branches(tree: ast.AST) -> list[int]:
    """Lines of ``X if vi else Y`` or ``X if lang == "vi" else Y`` (an ``IfExp``
    testing the name ``vi`` or comparing something with ``"vi"``, also inside a
    subscript such as ``pair[0 if vi else 1]``)."""
    return sorted(
        {node.lineno for node in ast.walk(tree) if isinstance(node, ast.IfExp) and _tests_the_language(node.test)}
    )


def test_the_detector_finds_an_inline_language_branch():
    src = (
        'vi = lang == "vi"\na = "Đoạn" if vi else "Stretch"\nb = pair[0 if vi else 1]\nc = t("Đoạn", lang)\n'
        'd = "Đoạn" if lang == "vi" else "Stretch"\ne = pair[0 if L == "vi" else -1]\n'
        'f = x if "vi" != self.lang else y\ng = stretch_text(r, vi=lang == "vi")\nh = x if n == 2 else y\n'
    )
    assert _inline_language_branches(ast.parse(src)) == [2, 3, 5, 6, 7]


def test_one_translation_path_no_inline_language_branches():
    """Services and pages translate through ``i18n`` (``t``, ``tr``, ``pick``),
    never with an inline ``X if vi else Y`` or ``X if lang == "vi" else Y``
    branch of their own (geo/ keeps its own ``label_vi if lang == "vi" else
    label_en``: it may not import ``i18n``)."""
    bad = []
    for package in ("services", "app_pages"):
        for path in sorted((ROOT / package).glob("*.py")):
            lines = _inline_language_branches(ast.parse(path.read_text(encoding="utf-8")))
            bad += [(f"{package}/{path.name}", n) for n in lines]
    assert not bad, bad


def _bare_expressions(source: str) -> list[str]:
    """Expression statements a page would show only through Streamlit's magic (none but calls, docstrings)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            for i, stmt in enumerate(body if isinstance(body, list) else []):
                if not isinstance(stmt, ast.Expr) or isinstance(stmt.value, (ast.Call, ast.Await, ast.Yield)):
                    continue
                doc = isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                if i == 0 and doc and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                    continue
                found.append(f"{stmt.lineno}: {ast.unparse(stmt)[:60]}")
    return found


def test_the_detector_finds_a_bare_expression():
    assert _bare_expressions('"""doc"""\nimport streamlit as st\nst.write(1)\nx = 2\nx\n') == ["5: x"]


def test_magic_is_off_and_no_page_needs_it():
    """Streamlit's magic is off (.streamlit/config.toml): a page shows only what it writes with a call."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["magicEnabled"] is False
    pages = [ROOT / "app.py", *sorted((ROOT / "app_pages").rglob("*.py"))]
    assert len(pages) > 10
    bare = {p.name: b for p in pages if (b := _bare_expressions(p.read_text(encoding="utf-8")))}
    assert bare == {}
