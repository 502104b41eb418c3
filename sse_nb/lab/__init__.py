"""The lab bench: tools that span the client, the server and the widgets.

Lab tools drive servers and clients through their public API only; like the widgets they open no
sockets of their own. They sit below the front doors (magics, CLI) and above the widgets.
``wait_until`` is light; the views (which load the widget machinery) are imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .wait import wait_until

if TYPE_CHECKING:  # for type checkers and the API reference, which read the source
    from .backoff import BackoffExplorer
    from .checkup import Doctor, doctor
    from .conformance import Conformance
    from .ledger import Ledger
    from .wire import WireView

__all__ = ["BackoffExplorer", "Conformance", "Doctor", "Ledger", "WireView", "doctor", "wait_until"]

_LAZY = {
    "BackoffExplorer": "backoff",
    "Conformance": "conformance",
    "Doctor": "checkup",
    "doctor": "checkup",
    "Ledger": "ledger",
    "WireView": "wire",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sse_nb.lab' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
