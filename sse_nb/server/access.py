"""Who a server answers, and what it says of them: Host names, the token's form, the access log.

The checks themselves run in the handler (``handler.host_allowed``, the token); this module holds
what the server is configured with and what it logs: the access log with ``?token=`` hidden, and
one warning when a server listens beyond loopback (``docs/security.md``).
"""

from __future__ import annotations

import ipaddress
import logging

import tornado.web

from .handler import hide_token, host_allowed
from .opening import is_malformed
from .tokens import mask_token

__all__ = ["HostPolicy", "check_max_connections", "check_token", "log_request", "warn_if_exposed"]

logger = logging.getLogger("sse_nb.server")
access_log = logging.getLogger("tornado.access")


class HostPolicy:
    """``Host`` names answered besides ``localhost``, IP addresses and the bound host.

    ``"*"`` answers any; other names get 403, which stops DNS rebinding.
    """

    def __init__(self, allowed_hosts: str | list[str] | tuple[str, ...] | None) -> None:
        self.any = allowed_hosts == "*"
        self.hosts: frozenset[str] = frozenset()
        if not self.any:
            names = [allowed_hosts] if isinstance(allowed_hosts, str) else list(allowed_hosts or [])
            if not all(isinstance(n, str) and n and not is_malformed(n) for n in names):
                raise ValueError(f"allowed_hosts must be host names, not {allowed_hosts!r}")
            plain = {n.lower().rstrip(".") for n in names}
            self.hosts = frozenset(plain | {f"{n}." for n in plain})

    def allows(self, host: str | None, local_port: int | None, bound: str) -> bool:
        """Whether a request with this ``Host`` header is answered (else 403)."""
        return self.any or host_allowed(host, local_port, bound, self.hosts)


def check_token(token: object) -> None:
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise ValueError(
            "token must be a non-empty str (an empty one would let `?token=` in); "
            "use token=None for no token"
        )


def check_max_connections(max_connections: object) -> None:
    if max_connections is not None and (
        isinstance(max_connections, bool)
        or not isinstance(max_connections, int)
        or max_connections < 1
    ):
        raise ValueError(f"max_connections must be a positive int, not {max_connections!r}")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access log line, with any ``?token=`` hidden (also on 404s of other paths)."""
    status = handler.get_status()
    if status < 400:
        log = access_log.info
    elif status < 500:
        log = access_log.warning
    else:
        log = access_log.error
    request = handler.request
    log(
        "%d %s %s (%s) %.2fms",
        status,
        request.method,
        hide_token(request.uri or ""),
        request.remote_ip,
        1000.0 * request.request_time(),
    )


def warn_if_exposed(name: str, addresses: list[str], token: str | None) -> None:
    """One warning when ``addresses`` (``host:port``) include any beyond loopback."""
    exposed = [a for a in addresses if not _loopback(a.rpartition(":")[0].strip("[]"))]
    if exposed:
        logger.warning(
            "sse_nb: %s listens on %s, reachable from other machines%s",
            name,
            ", ".join(exposed),
            f" (token {mask_token(token)} required)"
            if token
            else "; anyone who can reach it reads every stream: set a token "
            "(EventServer(token='auto'), sse-nb serve --token auto, %sse_serve --token auto)",
        )
