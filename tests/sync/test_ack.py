"""Only a 2xx application/json ack of the expected shape counts; everything else is a plain-words error."""

import json

import pytest
import requests

from server_sync.client.ack import describe_exception, validate_ack, validate_settings
from server_sync.client.errors import SyncError

GOOD = {
    "protocol": 1,
    "stored": 998,
    "duplicates": 2,
    "acked_seq": 1000,
    "server_time": "2026-11-27T08:00:00.120+00:00",
}


def response(status=200, body=b"", content_type="application/json", headers=None):
    r = requests.Response()
    r.status_code = status
    if content_type:
        r.headers["Content-Type"] = content_type
    r.headers.update(headers or {})
    r._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return r


def error_of(resp, fn=validate_ack) -> SyncError:
    with pytest.raises(SyncError) as info:
        fn(resp)
    return info.value


def test_a_good_ack_is_read():
    ack = validate_ack(response(body=GOOD))
    assert (ack.stored, ack.duplicates, ack.acked_seq) == (998, 2, 1000)
    assert ack.server_time.year == 2026 and ack.server_time.utcoffset().total_seconds() == 0
    assert validate_ack(response(body=GOOD, content_type="application/json; charset=utf-8")).acked_seq == 1000
    assert validate_ack(response(body={**GOOD, "server_time": "2026-11-27T08:00:00Z"})).acked_seq == 1000


def test_captive_portal_200_html_is_not_an_ack():
    page = "<html><head><title>Wi-Fi 登入</title></head><body>Please log in</body></html>".encode()
    err = error_of(response(body=page, content_type="text/html; charset=utf-8"))
    assert err.zh == "收到非預期的回應（可能是網路登入頁面）"
    assert err.en == "unexpected response (maybe a captive portal login page)"
    assert "text/html" in err.detail and "Please log in" in err.detail
    # even an HTML page that happens to contain JSON-looking text
    assert "captive portal" in error_of(response(body=json.dumps(GOOD).encode(), content_type="text/html")).en
    assert "captive portal" in error_of(response(body=GOOD, content_type=None)).en


def test_a_redirect_is_taken_for_a_portal():
    err = error_of(response(302, b"", content_type="text/html", headers={"Location": "http://login.portal/"}))
    assert "captive portal" in err.en and "login.portal" in err.detail


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(GOOD).encode()[:40],  # truncated
        b"",
        b"not json",
        b"\xff\xfe",
    ],
)
def test_truncated_or_invalid_json_is_refused(body):
    err = error_of(response(body=body))
    assert err.en == "the collector's answer is not in the expected form"


@pytest.mark.parametrize(
    "change",
    [
        {"protocol": 2},
        {"protocol": True},
        {"protocol": "1"},
        {"protocol": None},
        {"stored": "998"},
        {"stored": True},
        {"duplicates": 1.5},
        {"acked_seq": -1},
        {"acked_seq": None},
        {"server_time": "yesterday"},
        {"server_time": 1764230400},
    ],
)
def test_every_field_is_checked(change):
    assert "expected form" in error_of(response(body={**GOOD, **change})).en


@pytest.mark.parametrize("missing", ["protocol", "stored", "duplicates", "acked_seq", "server_time"])
def test_a_missing_field_is_refused(missing):
    body = {k: v for k, v in GOOD.items() if k != missing}
    assert "expected form" in error_of(response(body=body)).en


def test_a_json_list_is_refused():
    assert "expected form" in error_of(response(body=[GOOD])).en


@pytest.mark.parametrize(
    "status, words",
    [
        (401, "token is unknown or revoked"),
        (403, "token is unknown or revoked"),
        (413, "refused the batch (HTTP 413)"),
        (422, "refused the batch (HTTP 422)"),
        (500, "had an error (HTTP 500)"),
        (503, "had an error (HTTP 503)"),
        (404, "unexpected response (HTTP 404)"),
    ],
)
def test_other_statuses_are_errors_in_plain_words(status, words):
    err = error_of(response(status, {"detail": "權杖無效或已撤銷 / unknown or revoked token"}))
    assert words in err.en
    assert err.zh and not err.zh.isascii()


def test_a_422_names_the_bad_fields():
    body = {"detail": [{"loc": ["body", "events", 0, "level"], "msg": "Input should be less than or equal to 5"}]}
    err = error_of(response(422, body))
    assert "body.events.0.level" in err.detail and "less than" in err.detail


def test_settings_answers():
    ok = validate_settings(
        response(body={"revision": 7, "settings": {"kiosk.office": "嘉義市選舉委員會"}}, headers={"ETag": '"7"'})
    )
    assert (ok.unchanged, ok.etag, ok.revision, ok.settings) == (False, '"7"', 7, {"kiosk.office": "嘉義市選舉委員會"})
    assert validate_settings(response(304, b"", content_type=None)).unchanged
    assert "captive portal" in error_of(response(body=b"<html></html>", content_type="text/html"), validate_settings).en
    assert "expected form" in error_of(response(body={"revision": "7", "settings": {}}), validate_settings).en
    assert "expected form" in error_of(response(body={"revision": 7, "settings": []}), validate_settings).en


def test_transport_failures_in_plain_words():
    refused = requests.ConnectionError(
        "HTTPConnectionPool: Max retries exceeded (Caused by "
        "NewConnectionError('Failed to establish a new connection: "
        "[Errno 111] Connection refused'))"
    )
    assert describe_exception(refused).en == "cannot reach the collector"
    assert describe_exception(requests.exceptions.ConnectTimeout("x")).en == "cannot reach the collector"
    assert describe_exception(requests.exceptions.ReadTimeout("x")).en == "the collector did not answer in time"
    assert "broke off" in describe_exception(requests.exceptions.ChunkedEncodingError("IncompleteRead")).en
    dropped = requests.ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed connection'))")
    assert "broke off" in describe_exception(dropped).en
