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
