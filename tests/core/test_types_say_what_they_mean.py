"""Service signatures say what they take: an `Actor` (not `Any`) for who acts, a `LeaseKind`
(not a bare `str`) for a lease kind; and only an authenticated user is recorded as an author."""

import ast
from pathlib import Path

from django.contrib.auth.models import AnonymousUser

from accounts.actors import acting_user
from core.actors import acting_user_pk

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = [
    "core", "accounts", "marketplace", "events", "leasing", "billing", "analytics", "bench",
]  # fmt: skip


def _parameters(name: str) -> list[tuple[str, str]]:
    """`(where, annotation)` for every function parameter called `name` in app code."""
    found = []
    for package in APP_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                for arg in arguments:
                    if arg.arg == name:
                        annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                        where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                        found.append((where, annotation))
    return found


def test_every_actor_parameter_is_an_actor() -> None:
    found = _parameters("actor")
    assert found  # the walk sees the services
    assert [(where, ann) for where, ann in found if ann != "Actor"] == []


def test_lease_kind_parameters_are_lease_kinds() -> None:
    found = [(w, a) for w, a in _parameters("kind") if w.startswith(("leasing/", "bench/"))]
    assert found
    assert [(where, ann) for where, ann in found if ann != "LeaseKind"] == []


def test_only_an_authenticated_user_is_an_author(db, operator) -> None:
    assert acting_user(operator) == operator
    assert acting_user_pk(operator) == operator.pk
    for nobody in (None, AnonymousUser()):
        assert acting_user(nobody) is None
        assert acting_user_pk(nobody) is None
