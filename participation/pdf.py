"""PDF rendering with WeasyPrint: A4, embedded fonts, and nothing fetched from outside.

The URL fetcher serves only files from the app's own static folder, the letterhead's logo (from
the database) and data: URLs. Any other URL (http, https, a file outside static/) is refused, so
text that smuggles in `<img src="http://...">` cannot make the server reach the network while
rendering.
"""
from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template

STATIC_PREFIX = "/static/"
LOGO_PATH = "/kop/logo"  # the letterhead's logo, served from the database (documents.logo)
# Documents resolve relative links against this; `/static/...` becomes file:///static/...
BASE_URL = "file:///__document__/"


class RemoteFetchRefused(ValueError):
    """A document tried to load something that is not one of our static files."""


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves /static/… from disk and data: URLs; refuses everything else."""

        def __init__(self, static_root: Path):
            super().__init__(allowed_protocols={"file", "data"})
            self.static_root = static_root.resolve()
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if parts.scheme == "data":
                return super().fetch(url, headers)
            if parts.scheme == "file" and not parts.netloc and parts.path == LOGO_PATH:
                from participation.documents.services import letterhead

                head = letterhead()
                if head.logo:
                    return URLFetcherResponse(url, head.logo, {"Content-Type": head.logo_type})
            if parts.scheme == "file" and not parts.netloc and parts.path.startswith(STATIC_PREFIX):
                candidate = (self.static_root / unquote(parts.path[len(STATIC_PREFIX):])).resolve()
                if candidate.is_relative_to(self.static_root) and candidate.is_file():
                    mime, _ = mimetypes.guess_type(candidate.name)
                    return URLFetcherResponse(url, candidate.read_bytes(),
                                              {"Content-Type": mime or "application/octet-stream"})
            self.refused.append(url)
            raise RemoteFetchRefused(f"refused to fetch {url!r} while rendering a PDF")

    return StaticOnlyFetcher


def static_only_fetcher():
    """A fetcher bound to this app's static folder."""
    return _fetcher_class()(Path(current_app.static_folder))


def html_to_pdf(html: str) -> bytes:
    """PDF bytes from an HTML document whose links may reach only our static files."""
    from weasyprint import HTML

    return HTML(string=html, base_url=BASE_URL, url_fetcher=static_only_fetcher()).write_pdf()


def render_pdf(template: str, **context) -> bytes:
    """Render `template` (which extends print.html) to PDF bytes."""
    return html_to_pdf(render_template(template, **context))
