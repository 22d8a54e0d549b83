"""One TLS context for every HTTPS client of the bot: the Bot API's, the providers', the
video downloads'.

httpx builds a context for each client it makes, and loading the trusted certificates costs
about 15 ms of CPU each time: with two clients for Telegram, one per provider and one for
downloads, that was most of the start-up's time outside imports. A context is safe to share
between clients (nothing changes it once made). It trusts what httpx trusts by default:
certifi's bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when the operator sets them.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The shared context, made on first use."""
    return httpx.create_ssl_context()
