"""Links shown with citations: the source's URL without what may be secret or tracking, plus a
text fragment that highlights the cited sentence in browsers."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

# Query parameters dropped from shown links: tracking added by mailers and ad platforms, and names
# that usually carry a credential (a signed or personal link must not be handed to a whole server).
TRACKING = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid", "igshid", "mc_cid",
    "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "spm",
})
SECRET_WORDS = frozenset({"key", "sig", "sid", "auth", "pw", "pwd", "pass", "jwt", "otp", "hmac"})
SECRET_PARTS = ("token", "secret", "passw", "signature", "credential", "session", "sessid", "apikey", "accesskey",
                "authorization", "oauth")


def hidden_parameter(name: str) -> bool:
    """Whether a query parameter looks like tracking (utm_*, fbclid, ...) or a secret (token, key,
    signature, session, password, ...), by its name."""
    name = name.strip().lower()
    if name.startswith("utm_") or name in TRACKING:
        return True
    words = set(re.split(r"[^a-z0-9]+", name))
    return bool(words & SECRET_WORDS) or any(part in name.replace("-", "").replace("_", "") for part in SECRET_PARTS)


def public_query(query: str) -> str:
    """The query string without hidden parameters; the others kept in order, as they were written."""
    kept = [p for p in query.split("&") if p and not hidden_parameter(unquote_plus(p.split("=", 1)[0]))]
    return "&".join(kept)


def public_url(url: str) -> str:
    """A URL safe to show: no user name or password, no query parameter that looks like a secret
    or tracking (the rest is kept: ``article.php?id=48213`` names the page), no fragment."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, host + port, parts.path, public_query(parts.query), ""))


def text_fragment_link(url: str | None, sentence: str) -> str | None:
    """The public URL with a #:~:text= fragment that highlights the sentence in browsers."""
    if not url:
        return None
    url = public_url(url)
    tokens = sentence.split()
    enc = lambda s: quote(s, safe="")  # noqa: E731
    if len(tokens) <= 8 and len(sentence) <= 60:
        fragment = enc(" ".join(tokens))
    elif len(tokens) > 8:
        fragment = f"{enc(' '.join(tokens[:4]))},{enc(' '.join(tokens[-4:]))}"
    else:  # long text with few spaces (Chinese, Japanese, Thai): its first and last characters
        text = " ".join(tokens)
        fragment = f"{enc(text[:12])},{enc(text[-12:])}"
    return f"{url.split('#')[0]}#:~:text={fragment}"
