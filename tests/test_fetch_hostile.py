"""Fetching what hostile or careless servers send: IRIs, broken redirects, odd headers, internal names.

Every failure is a SourceError with one line, and what servers are shown names hosts, not the
internal addresses they resolve to. A real web server on 127.0.0.1 serves the cases.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from index.errors import SourceError
from index.fetch import check_url, fetch, fetch_url
from tests.local_web import QuietHandler, start

PAGE = (b"<html><head><title>Cafe reopens</title></head><body><article><h1>Cafe reopens</h1>"
        b"<p>The harbour cafe reopened on Friday after the storm repairs, the owner said.</p>"
        b"<p>Opening hours stay the same as before the storm, she added on Saturday.</p></article></body></html>")


class Handler(QuietHandler):
    seen: list[str] = []
    # path -> raw header lines after the status line (bytes, as a server may really send them)
    raw: dict[str, list[bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append(self.path)
        if self.path in self.raw:
            self.wfile.write(b"HTTP/1.1 302 Found\r\n" + b"".join(h + b"\r\n" for h in self.raw[self.path])
                             + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if self.path.split("?")[0] in ("/caf%C3%A9.html", "/plain.html", "/search"):
            length = b"\xb2" if self.path == "/plain.html" else str(len(PAGE)).encode()  # "²" is a digit
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                             b"Content-Length: " + length + b"\r\nConnection: close\r\n\r\n" + PAGE)
            return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def web() -> Iterator[str]:
    Handler.seen = []
    Handler.raw = {
        "/to-iri": [b"Location: /caf\xc3\xa9.html"],  # UTF-8 bytes in the header, as servers send them
        "/to-latin1": [b"Location: /caf\xe9.html"],  # not UTF-8: the byte itself is escaped
        "/to-broken": [b"Location: http://[::1"],
        "/to-bad-port": [b"Location: http://127.0.0.1:99999/x"],
    }
    server, base = start(Handler)
    yield base
    server.shutdown()


ALLOWED = ("127.0.0.1",)


def test_an_iri_is_fetched_percent_encoded(web: str) -> None:
    source = fetch_url(f"{web}/café.html", allowed_hosts=ALLOWED)
    assert source.title == "Cafe reopens" and "reopened on Friday" in source.text
    assert source.url == f"{web}/café.html"  # the moderator's form is kept for links
    fetch(f"{web}/search?q=bröd och smör", allowed_hosts=ALLOWED)
    assert Handler.seen == ["/caf%C3%A9.html", "/search?q=br%C3%B6d%20och%20sm%C3%B6r"]


def test_a_uri_already_escaped_is_sent_as_it_is(web: str) -> None:
    fetch(f"{web}/caf%C3%A9.html", allowed_hosts=ALLOWED)
    assert Handler.seen == ["/caf%C3%A9.html"]


def test_a_redirect_to_an_iri_is_followed(web: str) -> None:
    got = fetch(f"{web}/to-iri", allowed_hosts=ALLOWED)
    assert got.data == PAGE and Handler.seen == ["/to-iri", "/caf%C3%A9.html"]
    with pytest.raises(SourceError, match="returned HTTP 404"):
        fetch(f"{web}/to-latin1", allowed_hosts=ALLOWED)
    assert Handler.seen[-1] == "/caf%E9.html"


@pytest.mark.parametrize("path, message", [
    ("/to-broken", r"redirected to 'http://\[::1', which is not a valid URL\."),
    ("/to-bad-port", r"redirected to 'http://127\.0\.0\.1:99999/x', which has an invalid port\."),
])
def test_a_malformed_redirect_is_a_clear_refusal(web: str, path: str, message: str) -> None:
    with pytest.raises(SourceError, match=rf"^{web}{path} {message}$"):
        fetch(web + path, allowed_hosts=ALLOWED)


@pytest.mark.parametrize("url, message", [
    ("http://[::1", r"^'http://\[::1' is not a valid URL\.$"),
    ("http://example.com:99999/", r"^'http://example\.com:99999/' has an invalid port\.$"),
])
def test_a_malformed_url_is_a_clear_refusal(url: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        fetch(url)


def test_a_content_length_of_non_ascii_digits_is_not_a_crash(web: str) -> None:
    got = fetch(f"{web}/plain.html", allowed_hosts=ALLOWED)
    assert got.data == PAGE


@pytest.mark.parametrize("url, host", [
    ("http://localhost:9/x", "localhost"),
    ("http://127.1/x", "127.1"),  # a short form of 127.0.0.1: the message repeats what was given
])
def test_refusals_name_the_host_not_the_internal_address_it_resolves_to(url: str, host: str) -> None:
    with pytest.raises(SourceError, match="internal address") as refused:
        check_url(url)
    message = str(refused.value)
    assert host in message.lower()
    assert "127.0.0.1" not in message and "::1" not in message and "(" not in message
