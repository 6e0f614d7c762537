"""Schema-driven fuzzing: schemathesis generates requests from the live server's
/openapi.json (bodies that fit the schema and bodies that break it, odd headers,
tokens); no request may get a 5xx, and the server may log no traceback.

(schemathesis' own pytest fixture loader does not work with pytest 9 yet, so the
schema is loaded inside the test and its hypothesis strategies driven directly.)
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from collector_helpers import start_server, stop_server
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

pytestmark = pytest.mark.dateless

OPERATIONS = [("/api/v1/events", "POST"), ("/api/v1/settings", "GET"), ("/api/v1/health", "GET")]
EXAMPLES = {"/api/v1/events": 250, "/api/v1/settings": 25, "/api/v1/health": 5}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("fuzz") / "collector.db")
    server.token = server.new_kiosk("fuzz")
    server.schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    yield server
    stop_server(server)
    log = server.db_path.with_suffix(".log").read_text()
    assert "Traceback" not in log, log


CASES = [
    (path, method, mode)
    for path, method in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (path == "/api/v1/health" and mode == GenerationMode.NEGATIVE)
]  # nothing to break


@pytest.mark.parametrize("path,method,mode", CASES)
def test_no_server_errors(fuzz_server, path, method, mode):
    operation = fuzz_server.schema[path][method]
    session = requests.Session()
    statuses: dict[int, int] = {}
    calls = [0]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[path],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        # Three cases in four carry a valid token so bodies reach validation and storage.
        calls[0] += 1
        headers = {"Authorization": f"Bearer {fuzz_server.token}"} if calls[0] % 4 else None
        response = case.call(base_url=fuzz_server.url, session=session, headers=headers, timeout=30)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (case.method, case.path, case.headers, case.body, response.text)

    run()
    print(path, method, mode, statuses)
    assert statuses
