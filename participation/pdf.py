"""PDF rendering with WeasyPrint: A4, embedded fonts, and nothing fetched from outside.

The URL fetcher serves only files from the app's own static folder, the letterhead's logo (handed
to it as bytes by the caller, so rendering needs neither a request nor a database read) and data:
URLs. Any other URL (http, https, a file outside static/) is refused, so
text that smuggles in `<img src="http://...">` cannot make the server reach the network while
rendering.
"""
from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template

from participation.extensions import db

STATIC_PREFIX = "/static/"
LOGO_PATH = "/kop/logo"  # where a document's letterhead logo is read from (the bytes given to the fetcher)
# Documents resolve relative links against this; `/static/...` becomes file:///static/...
BASE_URL = "file:///__document__/"


class RemoteFetchRefused(ValueError):
    """A document tried to load something that is not one of our static files."""


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves /static/… from disk and data: URLs; refuses everything else."""

        def __init__(self, static_root: Path, logo: tuple[bytes, str] | None = None):
            super().__init__(allowed_protocols={"file", "data"})
            self.static_root = static_root.resolve()
            self.logo = logo
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if parts.scheme == "data":
                return super().fetch(url, headers)
            if parts.scheme == "file" and not parts.netloc and parts.path == LOGO_PATH and self.logo:
                data, mimetype = self.logo
                return URLFetcherResponse(url, data, {"Content-Type": mimetype})
            if parts.scheme == "file" and not parts.netloc and parts.path.startswith(STATIC_PREFIX):
                candidate = (self.static_root / unquote(parts.path[len(STATIC_PREFIX):])).resolve()
                if candidate.is_relative_to(self.static_root) and candidate.is_file():
                    mime, _ = mimetypes.guess_type(candidate.name)
                    return URLFetcherResponse(url, candidate.read_bytes(),
                                              {"Content-Type": mime or "application/octet-stream"})
            self.refused.append(url)
            raise RemoteFetchRefused(f"refused to fetch {url!r} while rendering a PDF")

    return StaticOnlyFetcher


def static_only_fetcher(logo: tuple[bytes, str] | None = None):
    """A fetcher bound to this app's static folder, serving `logo` (bytes, type) at LOGO_PATH."""
    return _fetcher_class()(Path(current_app.static_folder), logo)


def html_to_pdf(html: str, logo: tuple[bytes, str] | None = None) -> bytes:
    """PDF bytes from an HTML document whose links may reach only our static files (and the logo)."""
    from weasyprint import HTML

    return HTML(string=html, base_url=BASE_URL, url_fetcher=static_only_fetcher(logo)).write_pdf()


def render_pdf(template: str, *, letterhead, release_database: bool = False, **context) -> bytes:
    """Render `template` (which extends print.html) to PDF bytes under `letterhead`.

    Needs an app context only: no request, no URL building, no database read while WeasyPrint
    fetches the logo. With `release_database`, a caller that has written nothing ends its
    transaction once the HTML is made, so that the slow conversion holds no transaction open (on
    SQLite one outside a GET or `database.reading()` holds the write lock).
    """
    logo = (letterhead.logo, letterhead.logo_type) if letterhead.logo else None
    html = render_template(template, browser=False, letterhead=letterhead,
                           logo_src=LOGO_PATH if logo else None, **context)
    if release_database:
        db.session.commit()
    return html_to_pdf(html, logo)
