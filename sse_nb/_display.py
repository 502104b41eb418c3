"""How servers and clients show themselves in a notebook: their widget panel, or plain text.

The one place where a lower layer names the widgets above it, by module name at display time:
``sse_nb.server`` and ``sse_nb.client`` never import the widgets to work, and a process without
a kernel (a script, a test) gets the text form.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, Protocol

__all__ = ["Shown", "panel_bundle"]

logger = logging.getLogger("sse_nb.display")


class Shown(Protocol):
    """What ``panel_bundle`` needs of the object it shows: a slot for its one panel.

    The slot is the object's own (``None`` until first shown): the panel refers back to the
    object, and a cycle through the object is collected with it, where a cache here would keep
    every object ever shown alive.
    """

    _panel: Any


def panel_bundle(obj: Shown, panel_name: str, **kwargs: Any) -> Any:
    """The mime bundle of ``obj``'s panel (``sse_nb.widgets.<panel_name>``), made once per object.

    One panel per object, so displaying it twice does not double its subscriptions.
    """
    bundle: Any = None
    try:
        if obj._panel is None:
            widgets = importlib.import_module("sse_nb.widgets")
            obj._panel = getattr(widgets, panel_name)(obj)
        bundle = obj._panel._repr_mimebundle_(**kwargs)
    except ImportError as exc:  # no widgets installed: text is what there is
        logger.debug("%s shown as text: %s", panel_name, exc)
        bundle = None
    except Exception:  # a broken panel must not break repr(): text is still useful
        logger.warning("%s failed; showing text instead", panel_name, exc_info=True)
        bundle = None
    # IPython takes a dict, or a (data, metadata) pair (which anywidget returns).
    data = bundle[0] if isinstance(bundle, tuple) and bundle else bundle
    if not isinstance(data, dict):
        return {"text/plain": repr(obj)}
    data["text/plain"] = repr(obj)  # the object, not "<ServerPanel object at 0x...>"
    return bundle
