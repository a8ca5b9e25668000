import re

from points_service.security import CSP


def test_openapi_document_describes_every_endpoint_with_bearer_auth(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    expected = {
        ("get", "/api/v1/members/{member_no}"),
        ("get", "/api/v1/members/{member_no}/entries"),
        ("get", "/api/v1/perks"),
        ("post", "/api/v1/redemptions"),
        ("post", "/api/v1/redemptions/{redemption_id}/void"),
        ("post", "/api/v1/vouchers/{code}/fulfil"),
        ("post", "/api/v1/service-records"),
        ("post", "/api/v1/service-records/{record_id}/approve"),
        ("post", "/api/v1/service-records/{record_id}/reject"),
        ("post", "/api/v1/activities/{activity_id}/approve-all"),
        ("post", "/api/v1/imports"),
    }
    documented = {(method, path) for path, item in spec["paths"].items() for method in item if method != "parameters"}
    assert expected <= documented


def test_every_operation_documents_each_error_status_by_number_in_the_one_shape(client):
    spec = client.get("/api/v1/openapi.json").json
    error_ref = {"$ref": "#/components/schemas/Error"}
    for name in ("BAD_REQUEST", "UNAUTHORIZED", "NOT_FOUND", "UNPROCESSABLE_ENTITY", "SERVICE_UNAVAILABLE"):
        assert spec["components"]["responses"][name]["content"]["application/json"]["schema"] == error_ref
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            codes = set(operation["responses"])
            # A public operation (``security: []``, e.g. published honor rolls) never answers 401.
            expected = {"400", "413", "429", "500", "503"} | (set() if operation.get("security") == [] else {"401"})
            assert expected <= codes, (method, path)
            assert "default" not in codes, (method, path)
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in codes, (method, path)


def test_posts_that_change_points_or_stock_require_an_idempotency_key(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in (
        "/api/v1/redemptions",
        "/api/v1/redemptions/{redemption_id}/void",
        "/api/v1/vouchers/{code}/fulfil",
        "/api/v1/service-records/{record_id}/approve",
        "/api/v1/activities/{activity_id}/approve-all",
    ):
        [header] = [p for p in spec["paths"][path]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header" and header["required"] is True, path


def test_docs_page_loads_swagger_ui_from_this_site_without_inline_script(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sources = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert sources and all(source.startswith("/") for source in sources)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    for source in sources:
        with client.get(source) as asset:
            assert asset.status_code == 200, source
            assert asset.headers["Content-Type"].startswith(("application/javascript", "text/javascript"))
    with client.get("/api/v1/docs/assets/swagger-ui.css") as stylesheet:
        assert stylesheet.status_code == 200


def test_docs_assets_serve_only_the_files_the_page_needs(client):
    assert client.get("/api/v1/docs/assets/index.html").status_code == 404
    assert client.get("/api/v1/docs/assets/../../../setup.cfg").status_code == 404


def test_site_csp_allows_no_inline_script():
    script_policy = CSP.split("script-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in script_policy and "'unsafe-eval'" not in script_policy
