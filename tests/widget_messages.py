"""What a widget sends to the page and receives from it, in tests without a browser."""

from __future__ import annotations

import json
from typing import Any

import pytest

#: Data that would run script if a view ever put it into the page as HTML.
HOSTILE = ['<img src=x onerror="window.__pwned=1">', "</script><script>window.__pwned=2</script>"]


def record_messages(widget: Any, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Everything the widget sends to the page, as it goes on the wire (JSON round trip)."""
    sent: list[dict[str, Any]] = []
    original = widget.send

    def send(content: dict[str, Any], buffers: Any = None) -> None:
        sent.append(json.loads(json.dumps(content)))
        original(content, buffers)

    monkeypatch.setattr(widget, "send", send)
    return sent


def page_message(widget: Any, content: dict[str, Any]) -> None:
    """Deliver a custom message as the comm does when the page calls ``model.send``."""
    widget._handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    )


def max_in_any_second(times: list[float]) -> int:
    return max((sum(1 for u in times if t <= u < t + 1.0) for t in times), default=0)
