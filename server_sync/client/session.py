"""One HTTP session for all of a kiosk's requests to the collector.

Retrying a POST is safe because the collector stores each event once, keyed
on (kiosk, event id); so urllib3 retries every method on connection errors,
read errors and 502/503/504. Every call passes a (connect, read) timeout: a
request without one can hang a thread forever on a half-open connection.

The bearer token goes in clear over plain http, so the http adapter refuses
every request to a host that is not loopback unless ``allow_insecure_http``
(``[sync] allow_insecure_http``) says so: the config checks ``[sync] url`` too,
this catches a redirect or a client made some other way (server_sync.client.cleartext).
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.util.retry import Retry

from server_sync.client import errors
from server_sync.client.cleartext import refusal

# (connect, read) seconds; a batch of 1,000 events takes well under a second.
DEFAULT_TIMEOUT = (5.0, 30.0)
RETRY_STATUSES = (502, 503, 504)


def make_retry(total: int = 3, backoff_factor: float = 0.5, backoff_max: float = 10.0) -> Retry:
    return Retry(
        total=total,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # every method, POST included: the collector dedupes
        raise_on_status=False,  # hand back the last 5xx so its status can be reported
        respect_retry_after_header=False,  # never let a Retry-After stall the thread for hours
    )


class CleartextRefused(errors.SyncError):
    """A request over plain http to a host that is not loopback, without allow_insecure_http."""


class CleartextGuard(HTTPAdapter):
    """The http:// adapter: sends nothing, token included, to a non-loopback host unless allowed."""

    def __init__(self, *args, allow_insecure_http: bool = False, **kwargs):
        self.allow_insecure_http = allow_insecure_http
        super().__init__(*args, **kwargs)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        # A plain-http request through a proxy hands the token to the proxy in clear too.
        proxy = select_proxy(request.url, proxies)
        for url in (request.url, *([proxy] if proxy else [])):
            problem = refusal(url if "://" in url else f"http://{url}", allow_insecure_http=self.allow_insecure_http)
            if problem:
                raise CleartextRefused(*problem, url.split("?")[0][:200])
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)


def make_session(
    token: str, *, software_version: str = "", retries: Retry | None = None, allow_insecure_http: bool = False
) -> requests.Session:
    """A session carrying the kiosk's bearer token, with retries mounted for http and https.

    allow_insecure_http: send over plain http to any host, not only loopback ([sync] allow_insecure_http).
    """
    session = requests.Session()
    retry = retries or make_retry()
    session.mount(
        "http://",
        CleartextGuard(max_retries=retry, pool_connections=1, pool_maxsize=1, allow_insecure_http=allow_insecure_http),
    )
    session.mount("https://", HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=1))
    session.headers.update(
        {
            "Authorization": f"Bearer {token}",
            "User-Agent": f"counter-kiosk/{software_version or 'unknown'}",
            "Accept": "application/json",
        }
    )
    # trust_env stays on: an office network may reach the collector only through
    # the proxy named in HTTPS_PROXY.
    return session
