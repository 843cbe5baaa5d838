"""Fetch a URL source safely: http(s) only, time and size limits, no internal addresses.

The host is resolved once and the connection goes to that checked address (with the real
host name for TLS and the Host header), so a DNS answer that changes between the check and
the connection ("DNS rebinding") cannot point the bot at an internal service. Every redirect
target is checked the same way.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urljoin, urlsplit

from index.errors import SourceError
from index.sources import source_from_bytes
from index.types import Source

ACCEPTED_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown")
MAX_REDIRECTS = 5
USER_AGENT = "qabot/0.1 (+news citations bot)"


def check_url(url: str, allowed_hosts: tuple[str, ...] = ()) -> str:
    """The address to connect to; refuses non-http(s) URLs and internal (loopback, private,
    link-local, reserved, metadata) addresses unless the host is allowlisted."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise SourceError(f"Only http and https URLs can be added ({url!r} is {parts.scheme or 'not a URL'}).")
    host = parts.hostname
    if not host:
        raise SourceError(f"{url!r} has no host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        raise SourceError(f"The host {host} could not be found.") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if host.lower() not in {h.lower() for h in allowed_hosts}:
        for address in addresses:
            if not address.is_global:
                raise SourceError(
                    f"Refused {url}: {host} resolves to an internal address ({address}). "
                    "Add the host to fetch.allowed_hosts if this is intended."
                )
    return str(addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int | None, timeout: float) -> None:
        super().__init__(host, port=port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int | None, timeout: float) -> None:
        super().__init__(host, port=port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _get(url: str, address: str, timeout: float) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    kind: type[_PinnedHTTPConnection] | type[_PinnedHTTPSConnection] = (
        _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    )
    connection = kind(parts.hostname or "", address, parts.port, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "text/html, text/plain;q=0.9"})
    return connection.getresponse()


def fetch_url(
    url: str, *, timeout: float = 10.0, max_bytes: int = 5 * 1024 * 1024, allowed_hosts: tuple[str, ...] = ()
) -> Source:
    """Download and extract an article; every failure is a SourceError with the reason."""
    limit = f"{max_bytes // (1024 * 1024)} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        address = check_url(current, allowed_hosts)
        try:
            response = _get(current, address, timeout)
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                current = urljoin(current, response.getheader("Location") or "")
                response.close()
                continue
            if response.status >= 400:
                raise SourceError(f"{url} returned HTTP {response.status}.")
            content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
            if content_type and not content_type.startswith(ACCEPTED_TYPES):
                raise SourceError(f"{url} is {content_type}, not an HTML or text page.")
            length = response.getheader("Content-Length") or ""
            if length.isdigit() and int(length) > max_bytes:
                raise SourceError(f"{url} is larger than the {limit} limit.")
            data = response.read(max_bytes + 1)
            response.close()
        except TimeoutError:
            raise SourceError(f"{url} did not answer within {timeout:g} seconds.") from None
        except ssl.SSLError as exc:
            raise SourceError(f"{url} could not be fetched securely ({exc.reason or exc}).") from None
        except (OSError, http.client.HTTPException) as exc:
            raise SourceError(f"{url} could not be fetched ({exc}).") from None
        if len(data) > max_bytes:
            raise SourceError(f"{url} is larger than the {limit} limit.")
        return source_from_bytes(data, url, kind="url", location=url, url=url, content_type=content_type or "text/html")
    raise SourceError(f"{url} redirected more than {MAX_REDIRECTS} times.")
