"""Fetch a URL source safely: http(s) only, time and size limits, no internal addresses.

The host is resolved once and the connection goes to that checked address (with the real
host name for TLS and the Host header), so a DNS answer that changes between the check and
the connection ("DNS rebinding") cannot point the bot at an internal service. Every redirect
target is checked the same way.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import logging
import re
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from index.deadline import Deadline
from index.errors import SourceError
from index.sources import source_from_bytes
from index.types import Source

log = logging.getLogger(__name__)
ACCEPTED_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown", "application/pdf")
MAX_REDIRECTS = 5
USER_AGENT = "qabot/0.1 (+news citations bot)"
# IPv6 ranges that carry an IPv4 address inside (IPv4-compatible, NAT64, 6to4): Python counts them
# as global, but they can reach 127.0.0.1 or a private network through a translator.
EMBEDDED_IPV4 = tuple(ipaddress.ip_network(n) for n in ("::/96", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16"))
READ_BLOCK = 65536


def _resolve(host: str, port: int, deadline: Deadline) -> list[str]:
    """getaddrinfo has no timeout of its own: run it in a daemon thread and stop waiting at the deadline."""
    found: list[Any] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            failed.append(exc)

    thread = threading.Thread(target=work, daemon=True, name="qabot-dns")
    thread.start()
    thread.join(deadline.remaining())
    if thread.is_alive():
        raise TimeoutError
    if failed or not found:
        raise socket.gaierror(str(failed[0]) if failed else "no address")
    return [str(info[4][0]).split("%")[0] for info in found]


_NOT_URI = re.compile(r"[^\x21-\x7e]")  # non-ASCII, spaces and control characters


def to_uri(url: str) -> str:
    """An IRI as the URI to request: the host in IDNA, other non-ASCII characters, spaces and
    control characters percent-encoded as UTF-8; escapes already there are kept as they are."""
    if not _NOT_URI.search(url):
        return url
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise SourceError(f"{url!r} is not a valid URL.") from None
    user, at, hostport = parts.netloc.rpartition("@")
    if not hostport.isascii():
        name, colon, port = hostport.partition(":")
        try:
            hostport = name.encode("idna").decode("ascii") + colon + port
        except UnicodeError:
            raise SourceError(f"{url!r} has a host name that cannot be looked up.") from None
    escape = lambda text: _NOT_URI.sub(lambda m: quote(m.group(), safe=""), text)  # noqa: E731
    return urlunsplit((parts.scheme, escape(user) + at + escape(hostport), escape(parts.path),
                       escape(parts.query), escape(parts.fragment)))


def _location(header: str) -> str:
    """A Location header as text: http.client decodes header bytes as Latin-1; the bytes are
    read again as UTF-8, and bytes that are not UTF-8 are percent-encoded one by one."""
    raw = header.encode("latin-1", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)


def _port(url: str, parts: Any) -> int:
    try:
        return int(parts.port or (443 if parts.scheme == "https" else 80))
    except ValueError:
        raise SourceError(f"{url!r} has an invalid port.") from None


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and any(address in net for net in EMBEDDED_IPV4):
        return True
    return not address.is_global


def check_url(url: str, allowed_hosts: tuple[str, ...] = (), deadline: Deadline | None = None) -> str:
    """The address to connect to; refuses non-http(s) URLs and internal (loopback, private,
    link-local, reserved, metadata, IPv4-in-IPv6) addresses unless the host is allowlisted."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise SourceError(f"{url!r} is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise SourceError(f"Only http and https URLs can be added ({url!r} is {parts.scheme or 'not a URL'}).")
    host = parts.hostname
    if not host:
        raise SourceError(f"{url!r} has no host name.")
    port = _port(url, parts)
    try:
        resolved = _resolve(host, port, deadline or Deadline(10.0))
    except (socket.gaierror, UnicodeError, ValueError):
        raise SourceError(f"The host {host} could not be found.") from None
    addresses = [ipaddress.ip_address(a) for a in resolved]
    if host.lower() not in {h.lower() for h in allowed_hosts}:
        for address in addresses:
            if _internal(address):
                # the address stays in the log: a message shown in a server names only the host
                log.info("refused %s: %s resolves to the internal address %s", url, host, address)
                raise SourceError(
                    f"Refused {url}: {host} resolves to an internal address. "
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


def _cut_off(connection: http.client.HTTPConnection) -> None:
    """At the deadline: shut the socket so a blocked read returns, however slowly bytes drip."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _read_body(response: http.client.HTTPResponse, max_bytes: int, deadline: Deadline) -> bytes:
    """The body, at most max_bytes + 1, checking the deadline after every block received."""
    parts: list[bytes] = []
    size = 0
    while size <= max_bytes:
        deadline.remaining()
        block = response.read1(READ_BLOCK)
        if not block:
            break
        parts.append(block)
        size += len(block)
    return b"".join(parts)


@dataclass(frozen=True)
class Fetched:
    """A response body (or "not modified"), with what the next conditional request needs."""

    url: str
    content_type: str
    data: bytes
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


def _redirect(url: str, current: str, location: str) -> str:
    """The absolute URI a redirect points to; a malformed one is refused with the reason."""
    target = _location(location)
    try:
        joined = urljoin(current, target)
        urlsplit(joined).port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        reason = "has an invalid port" if "port" in str(exc).lower() else "is not a valid URL"
        raise SourceError(f"{url} redirected to {target!r}, which {reason}.") from None
    return to_uri(joined)


def fetch(
    url: str, *, timeout: float = 10.0, max_bytes: int = 5 * 1024 * 1024, allowed_hosts: tuple[str, ...] = (),
    accept: tuple[str, ...] = ACCEPTED_TYPES, etag: str | None = None, last_modified: str | None = None,
) -> Fetched:
    """GET a URL safely; with ``etag``/``last_modified`` a 304 comes back as ``not_modified``.

    ``timeout`` is the budget for the whole fetch, redirects included, not per step. Every
    failure is a SourceError with the reason.
    """
    limit = f"{max_bytes // (1024 * 1024)} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
    deadline = Deadline(timeout)
    current = to_uri(url)
    headers = {"User-Agent": USER_AGENT, "Accept": ", ".join(accept) + ", */*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    for _ in range(MAX_REDIRECTS + 1):
        try:
            address = check_url(current, allowed_hosts, deadline)
            parts = urlsplit(current)
            kind: type[_PinnedHTTPConnection] | type[_PinnedHTTPSConnection] = (
                _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
            )
            connection = kind(parts.hostname or "", address, parts.port, deadline.remaining())
            watchdog = threading.Timer(deadline.remaining(), _cut_off, (connection,))
            watchdog.daemon = True
            watchdog.start()
            try:
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                    current = _redirect(url, current, response.getheader("Location") or "")
                    continue
                if response.status == 304 and (etag or last_modified):
                    return Fetched(current, "", b"", etag, last_modified, not_modified=True)
                if response.status >= 400:
                    raise SourceError(f"{url} returned HTTP {response.status}.")
                content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
                if not content_type:
                    raise SourceError(f"{url} did not say what it is (no Content-Type); refused.")
                if not content_type.startswith(accept):
                    raise SourceError(f"{url} is {content_type}, not an HTML or text page.")
                length = response.getheader("Content-Length") or ""
                if length.isascii() and length.isdigit() and int(length) > max_bytes:
                    raise SourceError(f"{url} is larger than the {limit} limit.")
                data = _read_body(response, max_bytes, deadline)
                deadline.remaining()  # a read cut off by the watchdog ends here, not as a short page
                validators = (response.getheader("ETag"), response.getheader("Last-Modified"))
            finally:
                watchdog.cancel()
                connection.close()
        except TimeoutError:
            raise SourceError(f"{url} did not finish within {timeout:g} seconds.") from None
        except ssl.SSLError as exc:
            raise SourceError(f"{url} could not be fetched securely ({exc.reason or exc}).") from None
        except (OSError, http.client.HTTPException) as exc:
            if deadline.end <= deadline.clock():
                raise SourceError(f"{url} did not finish within {timeout:g} seconds.") from None
            raise SourceError(f"{url} could not be fetched ({exc}).") from None
        if len(data) > max_bytes:
            raise SourceError(f"{url} is larger than the {limit} limit.")
        return Fetched(current, content_type, data, *validators)
    raise SourceError(f"{url} redirected more than {MAX_REDIRECTS} times.")


def fetch_url(
    url: str, *, timeout: float = 10.0, max_bytes: int = 5 * 1024 * 1024, allowed_hosts: tuple[str, ...] = ()
) -> Source:
    """Download and extract an article."""
    return article(fetch(url, timeout=timeout, max_bytes=max_bytes, allowed_hosts=allowed_hosts), url)


def article(got: Fetched, url: str, *, max_pages: int | None = None, deadline: Deadline | None = None) -> Source:
    """The article (or PDF) a response holds, as a URL source located at ``url``; a PDF within
    ``max_pages`` and ``deadline`` (see index.sources.source_from_bytes)."""
    return source_from_bytes(got.data, url, kind="url", location=url, url=url, content_type=got.content_type,
                             max_pages=max_pages, deadline=deadline)
