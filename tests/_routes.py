"""The routes between a page and a kernel's server, built for tests: a hub's Jupyter server.

On Binder and JupyterHub a page reaches a kernel's ``EventServer`` through jupyter-server-proxy
(``<base_url>proxy/<port>/events``), run by the user's Jupyter server on whatever tornado the
hub installed. :func:`hub_venv` builds that server's environment for a chosen tornado (cached,
see ``tests/_venvs.py``); :func:`start_hub` starts it under a hub's base URL with a token, on a
free loopback port, and :func:`stop_hub` stops it by PID. The ``EventServer`` under test runs in
the test's own process, on this checkout's tornado: only the relay differs.

Usage::

    hub = start_hub(hub_venv("6.4.2"), tmp_path)
    try:
        url = hub.proxy_url(server.port, "events")       # .../user/student/proxy/PORT/events
        with EventSource(url, headers=hub.auth) as es: ...
    finally:
        stop_hub(hub)
"""

from __future__ import annotations

from pathlib import Path

from tests._venvs import bin_path, cached_venv, clean_env
from tests.lab import HUB_BASE_URL, Lab, start_lab, stop_lab

__all__ = ["HUB_REQUIREMENTS", "HUB_TORNADOS", "Hub", "hub_venv", "start_hub", "stop_hub"]

#: The hub side, everything but tornado: the Jupyter Server and jupyter-server-proxy versions of
#: binder/requirements.txt.
HUB_REQUIREMENTS = ("jupyter_server==2.21.1", "jupyter-server-proxy==4.6.0")

#: Tornado releases a hub may run: 6.4 and 6.5 (still common), 6.6 (current). Up to 6.5.8,
#: tornado's HTTP client reads a body with neither length nor chunks in one piece at the close
#: (6.5.9 and 6.6 read it as it comes): the relay then passes nothing on, not even the headers.
HUB_TORNADOS = ("6.4.2", "6.5.2", "6.6.1")


class Hub(Lab):
    """A running hub-side Jupyter Server (no UI) with jupyter-server-proxy enabled."""

    @property
    def auth(self) -> dict[str, str]:
        """Headers that authenticate a Python client to the server (and so to its proxy)."""
        return {"Authorization": f"token {self.token}"}

    def proxy_url(self, port: int, path: str = "events") -> str:
        """The URL a page on the hub uses for ``http://127.0.0.1:<port>/<path>``."""
        return f"{self.url}proxy/{port}/{path}"


def hub_venv(tornado: str) -> Path:
    """The hub side's environment with ``tornado==<tornado>`` (built once, then cached)."""
    return cached_venv(f"hub-tornado-{tornado}", [*HUB_REQUIREMENTS, f"tornado=={tornado}"])


def start_hub(venv: Path, tmp: Path, base_url: str = HUB_BASE_URL) -> Hub:
    """Start ``venv``'s Jupyter Server under ``base_url``; returns once it answers."""
    lab = start_lab(
        tmp,
        python=str(bin_path(venv, "python")),
        base_env=clean_env(),
        app="jupyter_server",
        base_url=base_url,
    )
    return Hub(**{f: getattr(lab, f) for f in lab.__dataclass_fields__})


def stop_hub(hub: Hub) -> None:
    """Stop the server by its PID."""
    stop_lab(hub)
