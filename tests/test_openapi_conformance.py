"""The JSON API answers as its own OpenAPI document says (issue 9, item 5).

schemathesis reads /api/v1/openapi.json from a real server (Werkzeug's, in a thread, on this
test's database: SQLite, or PostgreSQL when REDUMBRELLA_TEST_DATABASE_URL says so), then sends
generated requests, valid and invalid, to every operation with the token of a demo caseworker
who is also a moderator and a member (so the casework, reporting and alerts operations all run). The run is
bounded (a fixed seed, MAX_EXAMPLES per operation, no example database) so it takes about a
minute on two cores. It must find no server error, no answer that breaks its response schema, no
undocumented status code or content type, and a 405 with a right `Allow` for every method a path
does not serve.

Its checks about accepting "valid" data are left out on purpose: the document cannot say that a
report needs *some* content, or that a date must not have passed, so those 422s are correct.

Every route under /api/v1 must be in the document too (core.api.undocumented_routes).
"""

from __future__ import annotations

import re
import subprocess  # noqa: S404 - schemathesis' own command line, run against our local server
import sys
import threading

import pytest
from helpers import TEST_PASSWORD, enrol_two_factor
from werkzeug.serving import WSGIRequestHandler, make_server

from core.db import connection

MAX_EXAMPLES = 40
CHECKS = ",".join((
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "allow_header_conformance",
))


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@pytest.fixture
def instance(make_app):
    """An app with every plugin on and the demo data, served for real; (app, base URL, staff token)."""
    from core import demo
    from core.accounts import tokens

    app = make_app({"TESTING": False})
    with app.app_context(), connection():
        accounts, _password = demo.fill(app, TEST_PASSWORD)
        staff = accounts["caseworker"]  # the demo cases are this caseworker's
        staff.grant("moderator", "member")  # and reports and alerts a moderator's
    enrol_two_factor(app, staff.email)
    with app.app_context(), connection():
        _record, token = tokens.create_token(staff, "schemathesis")
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", token
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_every_api_route_is_in_the_document(instance):
    from core.api import build_spec, undocumented_routes

    app, _url, _token = instance
    with app.test_request_context(), connection():
        spec = build_spec(app)
        assert undocumented_routes(app, spec) == []
        paths = spec.to_dict()["paths"]
    assert "/account" in paths
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method in {"post", "put", "patch"} and "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= set(operation["responses"]), f"{method} {path}"
            if operation.get("security"):
                assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"


def test_schemathesis_finds_no_server_error_and_no_schema_violation(instance, tmp_path):
    _app, url, token = instance
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{url}/api/v1/openapi.json", "--url", f"{url}/api/v1",
        "-H", f"Authorization: Bearer {token}", "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES),
        "--seed", "1", "--workers", "1", "--generation-database", "none", "--no-color",
        "--request-timeout", "30", "--continue-on-failure",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False)  # noqa: S603
    output = result.stdout + result.stderr
    failures = dict(re.findall(r"(ST\d+) [^:\n]+: (\d+)", output.split("SUMMARY")[-1]))
    assert "API Operations" in output, output[-3000:]
    assert failures == {}, output[-15000:]
    assert result.returncode == 0, output[-15000:]
