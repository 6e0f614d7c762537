"""When the sync client may speak plain http: the bearer token would cross the network in clear.

Plain http is refused unless the collector is on this machine (a loopback
address: 127.0.0.0/8, ::1 or ``localhost``, where the token never leaves it, as
in the demo) or the kiosk's config sets ``sync.allow_insecure_http = true``.
The config checks ``[sync] url`` with this at start-up and the client's session
checks every request (redirects included) again.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1: names and addresses that never leave the machine."""
    if not host:
        return False
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(url: str, *, allow_insecure_http: bool = False) -> tuple[str, str] | None:
    """Why the client must not send its token to ``url`` (zh-TW, English), or None if it may."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or allow_insecure_http or is_loopback(parts.hostname):
        return None
    return (
        f"拒絕以未加密的 http 傳送同步權杖至 {parts.hostname}：請改用 https://，"
        f"或僅於示範或測試網路設定 [sync] allow_insecure_http = true",
        f"refusing to send the sync token in clear over http:// to {parts.hostname}: use https://, "
        f"or set [sync] allow_insecure_http = true (only for a demo or a test network)",
    )
