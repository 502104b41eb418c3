"""The lab bench: tools that span the client, the server and the widgets.

Lab tools drive servers and clients through their public API only; like the widgets they open no
sockets of their own. They sit below the front doors (magics, CLI) and above the widgets.
"""

from __future__ import annotations

from .wait import wait_until

__all__ = ["wait_until"]
