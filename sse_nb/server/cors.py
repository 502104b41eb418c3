"""Which origins may read a stream cross-origin: the ``Access-Control-Allow-Origin`` answer."""

from __future__ import annotations

import urllib.parse

from .opening import is_malformed

__all__ = ["CorsPolicy"]


class CorsPolicy:
    """``None`` (same origin only), ``"*"`` (any origin) or a set of allowed origins."""

    def __init__(self, cors: str | list[str] | tuple[str, ...] | None) -> None:
        self.any = cors == "*"
        self.origins: set[str] = set()
        if cors is not None and not self.any:
            for origin in [cors] if isinstance(cors, str) else cors:
                self.allow(origin)

    def allow(self, origin: str) -> None:
        """Allow ``origin``: ``scheme://host[:port]`` as a browser sends it in ``Origin``.

        http or https, no path, query, user or fragment: origins are compared exactly, so
        anything else would never match (or match what it should not).
        """
        if not isinstance(origin, str) or not origin or is_malformed(origin) or " " in origin:
            raise ValueError(f"not an origin: {origin!r}")
        origin = origin.rstrip("/")
        parts = urllib.parse.urlsplit(origin)
        try:
            parts.port  # noqa: B018 -- raises on a port that is not a number
        except ValueError:
            raise ValueError(f"not an origin: {origin!r} (bad port)") from None
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or "@" in parts.netloc
            or origin != f"{parts.scheme}://{parts.netloc}"
        ):
            raise ValueError(
                f"not an origin: {origin!r}; an origin is scheme://host[:port], "
                'e.g. "http://127.0.0.1:8888"'
            )
        self.origins.add(origin)

    def origin_for(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for a request from ``origin``, if allowed."""
        if self.any:
            return "*"
        if origin is not None and origin in self.origins:
            return origin
        return None
