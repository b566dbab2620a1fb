"""The LLM extractor's HTTP side: which URLs it accepts, how it connects,
and how secrets are kept out of every message.

Why urllib and not httpx or the openai SDK: the extractor sends one kind of
request (a JSON POST) and needs three guarantees, all of which the standard
library gives when its opener is assembled by hand rather than with
`build_opener`'s defaults: no redirect is ever followed (the API key must not
travel to an address the user did not name), only http and https are spoken
(no `file://`, `ftp://` or `data:` handler is installed at all), and the
proxy is bypassed for a local server. A third-party client would add a
dependency for the same three settings.

A redirect is answered with a `ConfigError` that says what the server
answered and where it pointed: the user fixes `--base-url` to the final
address, and the key goes only there.
"""
from __future__ import annotations

import re
import urllib.parse
import urllib.request

from ..errors import ConfigError

ALLOWED_SCHEMES = ("http", "https")
REDACTED = "[redacted]"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")

# Things that look like credentials, whatever key they belong to: a bearer
# token, an Authorization header's value, `api_key=...`-style pairs, and the
# usual provider key prefixes (sk-..., sk-proj-..., gsk_..., hf_...).
_SECRET_PATTERNS = (
    re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+"),
    re.compile(r"(?i)(\bauthorization\b[\"']?\s*[:=]\s*[\"']?)(?:(?:basic|bearer|digest|token)\s+)?"
               r"[^\s\"',;]+"),
    re.compile(r"(?i)(\b(?:api[_-]?key|access[_-]?token|secret|password|token)\b[\"']?\s*[:=]\s*[\"']?)"
               r"[^\s\"',;&]+"),
    re.compile(r"()\b(?:sk|gsk|hf|xai|pk)[-_][A-Za-z0-9_\-]{12,}"),
)


def check_base_url(url: str) -> str:
    """`url` without a trailing slash, or a ConfigError saying what is wrong.

    Only http(s) with a host, no credentials (they would be printed in every
    error and sent on every request; the key goes in an environment
    variable), and no query or fragment (the request path is appended).
    """
    raw = (url or "").strip()
    if any(ord(c) < 33 or ord(c) == 127 for c in raw):
        raise ConfigError("--base-url must not contain spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"--base-url is not a valid URL ({exc})") from None
    if parts.username is not None or parts.password is not None:
        # Never echo the URL itself here: it holds the password.
        shown = f"{parts.scheme}://{parts.hostname or ''}{parts.path}" if parts.scheme else "the URL"
        raise ConfigError(f"--base-url must not carry a user name or password ({shown}); "
                          "put the API key in $ENSEMBLE_FIT_API_KEY instead")
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        got = f"'{scheme}://'" if scheme else "no scheme"
        raise ConfigError(f"--base-url must start with http:// or https://, got {got} "
                          f"(for example http://localhost:8000/v1)")
    if not parts.hostname:
        raise ConfigError("--base-url has no host (for example http://localhost:8000/v1)")
    if parts.query or parts.fragment or raw.endswith(("?", "#")):
        raise ConfigError("--base-url must not have a query string or fragment: requests go to "
                          "{base-url}/chat/completions")
    return raw.rstrip("/")


def redact(text: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """`text` with every given secret and anything credential-shaped replaced.

    Secrets shorter than 4 characters are not searched for (they would
    redact ordinary words); credential-shaped tokens are redacted anyway.
    """
    if not text:
        return text
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, REDACTED)
    for pat in _SECRET_PATTERNS:
        text = pat.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def describe_location(location: str | None, base: str) -> str:
    """Where a redirect pointed, without credentials, query or fragment."""
    if not location:
        return "no Location given"
    try:
        parts = urllib.parse.urlsplit(urllib.parse.urljoin(base, location.strip()))
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an unparsable Location"
    return f"{parts.scheme}://{host}{port}{parts.path}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turn every 3xx into an HTTPError instead of a new request."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def make_opener(base_url: str) -> urllib.request.OpenerDirector:
    """An opener that speaks http and https only and follows no redirect.

    A local server is reached directly even when a proxy is configured.
    """
    host = (urllib.parse.urlsplit(base_url).hostname or "").lower()
    proxy = urllib.request.ProxyHandler({} if host in LOCAL_HOSTS else None)
    opener = urllib.request.OpenerDirector()
    for handler in (proxy, urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(),
                    urllib.request.HTTPDefaultErrorHandler(), _NoRedirect(),
                    urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener
