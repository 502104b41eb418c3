"""How servers and clients show themselves in a notebook: their widget panel, or plain text.

The one place where a lower layer names the widgets above it, by module name at display time:
``sse_nb.server`` and ``sse_nb.client`` never import the widgets to work, and a process without
a kernel (a script, a test) gets the text form.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["panel_bundle"]


def panel_bundle(obj: Any, panel_name: str, **kwargs: Any) -> Any:
    """The mime bundle of ``obj``'s panel (``sse_nb.widgets.<panel_name>``), made once per object.

    One panel per object, so displaying it twice does not double its subscriptions.
    """
    bundle: Any = None
    try:
        if obj._panel is None:
            widgets = importlib.import_module("sse_nb.widgets")
            obj._panel = getattr(widgets, panel_name)(obj)
        bundle = obj._panel._repr_mimebundle_(**kwargs)
    except Exception:  # no widgets (or no kernel): text is still useful
        bundle = None
    # IPython takes a dict, or a (data, metadata) pair (which anywidget returns).
    data = bundle[0] if isinstance(bundle, tuple) and bundle else bundle
    if not isinstance(data, dict):
        return {"text/plain": repr(obj)}
    data["text/plain"] = repr(obj)  # the object, not "<ServerPanel object at 0x...>"
    return bundle
