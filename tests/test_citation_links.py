"""Citation links keep the query that names the page and drop what is tracking or may be secret."""

from __future__ import annotations

import pytest

from bot.service import QAService
from index.links import hidden_parameter, public_url, text_fragment_link
from index.sources import source_from_bytes

PAGE = (b"<html><head><title>Harbour dredging starts</title></head><body><article><h1>Harbour dredging starts</h1>"
        b"<p>Harbour engineer Nils Dahl said the dredging of the inner basin starts in April.</p>"
        b"<p>The work will take about six weeks, the port authority said on Monday.</p></article></body></html>")


@pytest.mark.parametrize("url, shown", [
    ("https://news.test/article.php?id=48213", "https://news.test/article.php?id=48213"),
    ("https://news.test/a.php?id=48213&page=2&utm_source=mail&utm_campaign=x&fbclid=Ab1",
     "https://news.test/a.php?id=48213&page=2"),
    ("https://news.test/a?gclid=1&story=harbour&msclkid=2", "https://news.test/a?story=harbour"),
    ("https://news.test/a?p=7&token=s3cret&api_key=k&Key=k&sig=x&Signature=y&session=z&auth=w&password=p",
     "https://news.test/a?p=7"),
    ("https://files.test/r.pdf?X-Amz-Credential=AK&X-Amz-Signature=ab&X-Amz-Security-Token=t&X-Amz-Expires=60",
     "https://files.test/r.pdf?X-Amz-Expires=60"),
    ("https://news.test/a?access_token=t&accessToken=t&sessionid=s&PHPSESSID=s&sid=1", "https://news.test/a"),
    ("https://news.test/search?q=bridge+works&author=lind&keyword=ferry", None),  # look-alikes are kept
    ("https://u:p@Example.com:8443/a/b?key=1#x", "https://example.com:8443/a/b"),
    ("http://[2001:db8::1]/x?y", "http://[2001:db8::1]/x?y"),
    ("https://news.test/a?id=1&&utm_medium=x&", "https://news.test/a?id=1"),
    ("https://news.test/a?t%6Fken=s3cret&id=2", "https://news.test/a?id=2"),  # an escaped name is read as such
])
def test_shown_links_drop_only_tracking_and_secret_parameters(url: str, shown: str | None) -> None:
    assert public_url(url) == (shown or url)


def test_parameter_names() -> None:
    hidden = ["utm_source", "UTM_Term", "fbclid", "token", "csrf_token", "api-key", "apikey", "sig", "hmac",
              "client_secret", "passwd", "Authorization", "oauth_verifier", "jsessionid", "credentials"]
    shown = ["id", "page", "q", "author", "keyword", "monkey", "article", "lang", "date", "sort", "p", "s"]
    assert [n for n in hidden if not hidden_parameter(n)] == []
    assert [n for n in shown if hidden_parameter(n)] == []


def test_the_text_fragment_follows_the_kept_query() -> None:
    link = text_fragment_link("https://news.test/article.php?id=48213&utm_source=x#top", "The work starts.")
    assert link == "https://news.test/article.php?id=48213#:~:text=The%20work%20starts."


def test_a_citation_links_to_the_page_its_query_names(fake_service: QAService) -> None:
    url = "https://news.test/article.php?id=48213&utm_source=newsletter&token=s3cret"
    source = source_from_bytes(PAGE, url, kind="url", location=url, url=url, content_type="text/html")
    fake_service.catalog.build([source])
    answer = fake_service.ask("What did Nils Dahl say about the dredging?")
    assert answer.found
    citation = answer.citations[0]
    assert citation.url == "https://news.test/article.php?id=48213"
    assert citation.link is not None and citation.link.startswith("https://news.test/article.php?id=48213#:~:text=")
    assert "s3cret" not in str(answer.to_json()) and "newsletter" not in str(answer.to_json())
