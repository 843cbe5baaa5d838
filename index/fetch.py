"""Fetch a URL source safely: http(s) only, time and size limits, no internal addresses."""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.request
from urllib.parse import urljoin, urlsplit

from index.errors import SourceError
from index.sources import source_from_bytes
from index.types import Source

ACCEPTED_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown")
MAX_REDIRECTS = 5


def check_url(url: str, allowed_hosts: tuple[str, ...] = ()) -> None:
    """Refuse non-http(s) URLs and hosts that resolve to loopback, private, link-local or reserved addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise SourceError(f"Only http and https URLs can be added ({url!r} is {parts.scheme or 'not a URL'}).")
    host = parts.hostname
    if not host:
        raise SourceError(f"{url!r} has no host name.")
    if host.lower() in {h.lower() for h in allowed_hosts}:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError):
        raise SourceError(f"The host {host} could not be found.") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise SourceError(
                f"Refused {url}: {host} resolves to an internal address ({address}). "
                "Add the host to fetch.allowed_hosts if this is intended."
            )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        return None  # redirects are followed by hand, each target checked


def fetch_url(
    url: str, *, timeout: float = 10.0, max_bytes: int = 5 * 1024 * 1024, allowed_hosts: tuple[str, ...] = ()
) -> Source:
    """Download and extract an article; every failure is a SourceError with the reason."""
    opener = urllib.request.build_opener(_NoRedirect)
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        check_url(current, allowed_hosts)
        request = urllib.request.Request(current, headers={"User-Agent": "qabot/0.1 (+news citations bot)"})
        try:
            response = opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            if exc.code in (301, 302, 303, 307, 308) and exc.headers.get("Location"):
                current = urljoin(current, exc.headers["Location"])
                continue
            raise SourceError(f"{url} returned HTTP {exc.code}.") from None
        except TimeoutError:
            raise SourceError(f"{url} did not answer within {timeout:g} seconds.") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise SourceError(f"{url} did not answer within {timeout:g} seconds.") from None
            raise SourceError(f"{url} could not be fetched ({reason}).") from None
        except (OSError, ValueError) as exc:
            raise SourceError(f"{url} could not be fetched ({exc}).") from None
        with response:
            content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if content_type and not content_type.startswith(ACCEPTED_TYPES):
                raise SourceError(f"{url} is {content_type}, not an HTML or text page.")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise SourceError(f"{url} is larger than the {max_bytes // (1024 * 1024) or max_bytes} MB limit.")
            try:
                data = response.read(max_bytes + 1)
            except TimeoutError:
                raise SourceError(f"{url} did not answer within {timeout:g} seconds.") from None
            except OSError as exc:
                raise SourceError(f"{url} could not be read ({exc}).") from None
        if len(data) > max_bytes:
            raise SourceError(f"{url} is larger than the {max_bytes // (1024 * 1024) or max_bytes} MB limit.")
        return source_from_bytes(
            data, url, kind="url", location=url, url=url, content_type=content_type or "text/html"
        )
    raise SourceError(f"{url} redirected more than {MAX_REDIRECTS} times.")
