"""One HTTP session for all of a kiosk's requests to the collector.

Retrying a POST is safe because the collector stores each event once, keyed
on (kiosk, event id); so urllib3 retries every method on connection errors,
read errors and 502/503/504. Every call passes a (connect, read) timeout: a
request without one can hang a thread forever on a half-open connection.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

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


def make_session(token: str, *, software_version: str = "", retries: Retry | None = None) -> requests.Session:
    """A session carrying the kiosk's bearer token, with retries mounted for http and https."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retries or make_retry(), pool_connections=1, pool_maxsize=1)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({
        "Authorization": f"Bearer {token}",
        "User-Agent": f"counter-kiosk/{software_version or 'unknown'}",
        "Accept": "application/json",
    })
    # trust_env stays on: an office network may reach the collector only through
    # the proxy named in HTTPS_PROXY.
    return session
