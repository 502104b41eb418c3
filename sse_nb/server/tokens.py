"""Access tokens: made at random on request (``"auto"``), and shown only masked.

A token is what keeps other users of a shared machine (every user's processes share 127.0.0.1
on a single-machine hub) out of a kernel's streams. It travels as ``Authorization: Bearer`` from
Python clients and as the ``token`` query parameter from a page's ``EventSource`` (which cannot
set headers). Panels, reprs, status tables, the CLI's output and logs show :func:`mask_token`'s
form only.
"""

from __future__ import annotations

import hmac
import secrets

import tornado.httputil

__all__ = [
    "AUTO_TOKEN",
    "SHOWN_TOKEN_CHARS",
    "TOKEN_BYTES",
    "authorized",
    "mask_token",
    "resolve_token",
]

#: The value that asks for a random token (``--token auto``, ``EventServer(token="auto")``).
AUTO_TOKEN = "auto"

#: Random bytes in an ``auto`` token: 256 bits, beyond guessing over a loopback socket.
TOKEN_BYTES = 32

#: Characters of a token shown before "…": enough to tell two tokens apart, too few to use.
SHOWN_TOKEN_CHARS = 4


def resolve_token(token: str | None) -> str | None:
    """``token`` itself, a fresh random one for ``"auto"``, ``None`` for none."""
    if token == AUTO_TOKEN:
        return secrets.token_urlsafe(TOKEN_BYTES)
    return token


def mask_token(token: str | None) -> str:
    """The form a token is shown in: its first characters and "…" (``""`` for no token)."""
    if not token:
        return ""
    return token[:SHOWN_TOKEN_CHARS] + "…"


def authorized(request: tornado.httputil.HTTPServerRequest, token: str | None) -> bool:
    """Whether ``request`` carries ``token`` (always, when there is none to carry): as
    ``Authorization: Bearer`` or, failing that, the last ``token`` query parameter. Compared in
    constant time, so the answer's timing does not tell how much of a guess was right."""
    if token is None:
        return True
    auth = request.headers.get("Authorization", "")
    given = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    if given is None:
        raw = request.query_arguments.get("token")
        given = raw[-1].decode("utf-8", "replace") if raw else None
    return given is not None and hmac.compare_digest(given.encode(), token.encode())
