"""`core` is the shared base every app builds on: it imports no app (apps plug into it)."""

import ast
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[2]
APPS = {"accounts", "marketplace", "events", "leasing", "billing", "analytics", "bench"}


def imported_modules(tree: ast.AST) -> list[str]:
    """Modules an AST imports: import statements and `import_module("…")` with a literal."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "import_module":
            found += [a.value for a in node.args if isinstance(a, ast.Constant)]
        elif (  # dotted module paths named in strings (lists of modules to import)
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.split(".")[0] in APPS
            and "." in node.value
            and " " not in node.value
        ):
            found.append(node.value)
    return found


def test_core_imports_no_app() -> None:
    offenders = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for module in imported_modules(ast.parse(path.read_text(), filename=str(path))):
            if module.split(".")[0] in APPS:
                offenders.append(f"{path.relative_to(ROOT)}: {module}")
    assert offenders == []


def test_generate_fleet_stays_a_management_command(db) -> None:
    with pytest.raises(CommandError, match="must be positive"):
        call_command("generate_fleet", "--cards", "0")
