"""Dependencies point one way: audits, reviews -> workflows <- notifications <- oversight. The engine and
chasing know no case type: audits and reviews plug into workflows' owed registry."""

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(__file__).resolve().parent.parent
APPS = ["workflows", "audits", "reviews", "notifications", "oversight"]
MAY_NOT_IMPORT = {
    "workflows": {"audits", "reviews", "notifications", "oversight"},
    "audits": {"reviews", "notifications", "oversight"},
    "reviews": {"audits", "notifications", "oversight"},
    "notifications": {"audits", "reviews", "oversight"},
    "oversight": {"audits", "reviews"},
}
KNOWS_NO_CASE_TYPE = ["workflows", "notifications", "oversight"]
# The role groups are defined in one place and grant the case types' permissions by their names.
NAMES_CASE_TYPES_BY_RIGHT = {"workflows/roles.py"}


def sources(app: str, suffix: str = ".py") -> list[Path]:
    return [p for p in (ROOT / app).rglob(f"*{suffix}") if "migrations" not in p.parts]


def imported_apps(path: Path) -> set[str]:
    """Every project app ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(APPS)


@pytest.mark.parametrize("app", APPS)
def test_dependencies_point_one_way(app: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {sorted(imported_apps(path) & MAY_NOT_IMPORT[app])}"
        for path in sources(app)
        if imported_apps(path) & MAY_NOT_IMPORT[app]
    }
    assert not wrong


def case_type_names() -> set[str]:
    """The case types' model names (class and lower case), app labels and page names."""
    names = {"audits", "reviews"}
    for label in ("audits", "reviews"):
        for model in apps.get_app_config(label).get_models():
            names |= {model.__name__, str(model._meta.model_name)}

    def url_names(patterns: list[URLPattern | URLResolver], inside: bool) -> set[str]:
        found: set[str] = set()
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                module = getattr(pattern.urlconf_module, "__name__", "")
                found |= url_names(
                    pattern.url_patterns, inside or module.split(".")[0] in ("audits", "reviews")
                )
            elif inside and pattern.name:
                found.add(pattern.name)
        return found

    pages = url_names(get_resolver().url_patterns, False)
    assert {"audit-detail", "chronology-detail"} <= pages
    return names | pages


def words_in_code(path: Path) -> set[str]:
    """The names and string constants of a Python file's code, docstrings left out (prose may say
    "an audit"); a template's whole text split into words."""
    if path.suffix != ".py":
        return set(path.read_text().replace("'", " ").replace('"', " ").split())
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    words: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.alias):
            words |= set(node.name.split("."))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words |= set(node.value.replace("__", " ").replace(".", " ").replace(":", " ").split())
    return words


@pytest.mark.parametrize("app", KNOWS_NO_CASE_TYPE)
def test_the_engine_chasing_and_oversight_name_no_case_type(app: str) -> None:
    names = case_type_names()
    found = {
        f"{path.relative_to(ROOT)}: {sorted(words_in_code(path) & names)}"
        for path in sources(app) + sources(app, ".html") + sources(app, ".txt")
        if words_in_code(path) & names and str(path.relative_to(ROOT)) not in NAMES_CASE_TYPES_BY_RIGHT
    }
    assert not found
