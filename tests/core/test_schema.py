from django.core.management import call_command


def test_the_openapi_schema_builds_without_errors_or_warnings(db, capsys) -> None:
    call_command("spectacular", "--fail-on-warn", "--file", "/dev/null")
