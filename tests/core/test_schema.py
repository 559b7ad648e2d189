from django.core.management import call_command


def test_the_openapi_schema_builds_without_errors_or_warnings(db, capsys) -> None:
    call_command("spectacular", "--fail-on-warn", "--file", "/dev/null")


def test_the_docs_page_loads_swagger_ui_from_this_server_not_a_cdn(client) -> None:
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()
