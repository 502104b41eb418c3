"""Which origins may read a stream cross-origin: the ``Access-Control-Allow-Origin`` answer."""

from __future__ import annotations

from .opening import is_malformed

__all__ = ["CorsPolicy"]


class CorsPolicy:
    """``None`` (same origin only), ``"*"`` (any origin) or a set of allowed origins."""

    def __init__(self, cors: str | list[str] | tuple[str, ...] | None) -> None:
        self.any = cors == "*"
        self.origins: set[str] = set()
        if isinstance(cors, str) and not self.any:
            self.origins.add(cors)
        elif isinstance(cors, (list, tuple)):
            self.origins.update(cors)

    def allow(self, origin: str) -> None:
        if not isinstance(origin, str) or not origin or is_malformed(origin):
            raise ValueError(f"not an origin: {origin!r}")
        self.origins.add(origin.rstrip("/"))

    def origin_for(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for a request from ``origin``, if allowed."""
        if self.any:
            return "*"
        if origin is not None and origin in self.origins:
            return origin
        return None
