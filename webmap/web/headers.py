"""The security headers of every response, and the nonce that lets the pages' own scripts run.

- ``Content-Security-Policy``: scripts only from this site or inline with this response's nonce
  (no ``'unsafe-inline'``, no ``'unsafe-eval'``): Folium renders the map's set-up as inline
  ``<script>`` s, which the templates mark with :func:`csp_nonce` (``{{ map.header|nonced }}``,
  ``<script nonce="{{ csp_nonce() }}">``), so text that slips into a page as HTML still cannot run.
  Styles may be inline: Leaflet and the layer control set them, and a style runs no script. Images
  may come from OpenStreetMap's tile server, the optional online base layer; nothing else leaves
  the site. ``frame-ancestors 'none'`` (and ``X-Frame-Options: DENY`` for older browsers): no page
  can be framed, so the edit and delete forms cannot be clicked through a disguise.
- ``X-Content-Type-Options: nosniff``: an export or API answer is never run as a script or page.
- ``Referrer-Policy: same-origin``: a filtered view's URL never leaves the site in a Referer.
"""

from __future__ import annotations

import re
import secrets

from flask import Flask, Response, g
from markupsafe import Markup

# Where the optional OpenStreetMap base layer (webmap.mapview.build_map) draws its tiles from.
TILE_HOST = "https://tile.openstreetmap.org"
_POLICY = (
    "default-src 'self'",
    "script-src 'self'{nonce}",
    "style-src 'self' 'unsafe-inline'",
    f"img-src 'self' data: {TILE_HOST}",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    """Give every response of ``app`` the headers above; templates get ``csp_nonce()`` and ``|nonced``."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["nonced"] = nonced
    app.after_request(_add_headers)


def csp_nonce() -> str:
    """This response's script nonce (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def nonced(html: str) -> Markup:
    """Trusted HTML (Folium's rendered parts, never user text) with this response's nonce on every ``<script>``."""
    return Markup(re.sub(r"<script\b", f'<script nonce="{csp_nonce()}"', str(html)))


def content_security_policy() -> str:
    """The ``Content-Security-Policy`` of this response (with its nonce when a page used one)."""
    nonce = f" 'nonce-{g.csp_nonce}'" if "csp_nonce" in g else ""
    return "; ".join(_POLICY).format(nonce=nonce)


def _add_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = content_security_policy()
    for name, value in HEADERS.items():
        response.headers[name] = value
    return response
