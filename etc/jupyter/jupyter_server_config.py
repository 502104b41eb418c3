"""Jupyter's configuration for this repository's notebooks: the README's first command reads it.

``JUPYTER_CONFIG_PATH=etc/jupyter`` adds this folder to the places Jupyter looks for
``jupyter_server_config.py`` (after the user's own ``~/.jupyter``, which still wins), for that
one command only: nothing is installed, no other Jupyter is changed.

Jupyter refuses to start as root ("Running as root is not recommended"), a good rule on a
shared machine. In a container one is often root, and the container is the isolation: there,
and only there, root is allowed. Anywhere else, root still gets Jupyter's refusal.
"""

import os
from pathlib import Path

#: Files container runtimes create (Docker, Podman); ``container`` is set by systemd-nspawn,
#: Podman and LXC.
_CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")


def _in_container() -> bool:
    if os.environ.get("container"):  # noqa: SIM112 (its name is lower case)
        return True
    if any(Path(p).exists() for p in _CONTAINER_MARKERS):
        return True
    try:
        cgroups = Path("/proc/1/cgroup").read_text()
    except OSError:
        return False
    return any(word in cgroups for word in ("docker", "kubepods", "containerd", "lxc"))


if hasattr(os, "geteuid") and os.geteuid() == 0 and _in_container():
    c.ServerApp.allow_root = True  # noqa: F821 (Jupyter gives a config file its `c`)
