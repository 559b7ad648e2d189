"""Every error code the API can answer is in the API guide (docs/api.md).

The codes are collected from the source, not from a list kept by hand:
- `code = "..."` class attributes (ApplicationError subclasses) and `code="..."` arguments
  (errors raised with their own code, named constraints) anywhere in the apps;
- the first argument of `error_body("...")` (errors rendered directly) and of the usage ledger's
  per-record rejections (`_Reject("...")`);
- the codes the exception handler gives DRF's own exceptions (`_DRF_CODES`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "analytics", "billing", "config", "core", "events", "leasing", "marketplace")
CODE_LIKE = re.compile(r"^[a-z][a-z0-9_]*$")
FIRST_ARGUMENT_IS_A_CODE = {"error_body", "_Reject"}


def _source_files() -> list[Path]:
    return [
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    ]


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _codes_in(tree: ast.AST) -> set[str]:
    codes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if "code" in names and (value := _string(node.value)):
                codes.add(value)
            if "_DRF_CODES" in names and isinstance(node.value, ast.Dict):
                codes.update(v for v in map(_string, node.value.values) if v)
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "code" and (value := _string(keyword.value)):
                    codes.add(value)
            first = node.args[0] if node.args else None
            if _call_name(node) in FIRST_ARGUMENT_IS_A_CODE and (value := _string(first)):
                codes.add(value)
    return {code for code in codes if CODE_LIKE.match(code)}


def raised_codes() -> set[str]:
    codes: set[str] = set()
    for path in _source_files():
        codes |= _codes_in(ast.parse(path.read_text(), filename=str(path)))
    return codes


def test_the_collector_finds_the_codes_it_is_meant_to_find() -> None:
    codes = raised_codes()
    # one of each kind: class attribute, code= argument, constraint, error_body, _Reject, DRF
    assert {
        "no_capacity",
        "over_tenant_cap",
        "voucher_exhausted",
        "invalid_records",
        "unknown_metric",
        "unsupported_media_type",
    } <= codes


def test_every_error_code_the_api_raises_is_in_the_api_guide() -> None:
    guide = (ROOT / "docs" / "api.md").read_text()
    documented = set(re.findall(r"`([a-z][a-z0-9_]*)`", guide))
    missing = sorted(raised_codes() - documented)
    assert not missing, f"error codes missing from docs/api.md: {missing}"
