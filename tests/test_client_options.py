"""One options type for both faces: the same keywords, the same defaults, the same checks."""

from __future__ import annotations

import inspect
import typing

import pytest

from sse_nb.client import AsyncEventSource, EventSource, SourceOptions
from sse_nb.client.options import DEFAULTS, checked
from sse_nb.protocol import ReconnectPolicy

URL = "http://127.0.0.1:9/events"  # never connected to: the checks run in the constructor


def test_every_option_has_a_default_and_nothing_else_does() -> None:
    assert set(DEFAULTS) == set(typing.get_type_hints(SourceOptions))
    assert len(DEFAULTS) == 11


def test_both_faces_take_the_options_type_and_nothing_but_url_besides() -> None:
    for face in (AsyncEventSource, EventSource):
        params = inspect.signature(face.__init__).parameters
        assert params["options"].kind is inspect.Parameter.VAR_KEYWORD
        assert "Unpack[SourceOptions]" in str(params["options"].annotation)
        assert set(params) - {"self", "url", "options"} <= {"inbox"}


def test_defaults_fill_what_is_not_given() -> None:
    opts = checked({"method": "post"})
    assert opts["method"] == "POST"
    assert isinstance(opts["reconnect"], ReconnectPolicy)
    assert (opts["dedupe"], opts["idle_timeout"], opts["history"]) == (True, None, 1000)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"content": b"x", "json": {}}, "content or json"),
        ({"idle_timeout": 0}, "idle_timeout"),
        ({"history": -1}, "history"),
        ({"last_event_id": "a\nb"}, "CR, LF or NUL"),
    ],
)
def test_both_faces_refuse_the_same_bad_options(options: SourceOptions, says: str) -> None:
    for face in (AsyncEventSource, EventSource):
        with pytest.raises(ValueError, match=says):
            face(URL, **options)


def test_an_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="retries"):
        AsyncEventSource(URL, retries=3)  # type: ignore[call-arg]


def test_the_async_face_keeps_the_options_in_force() -> None:
    es = AsyncEventSource(URL, method="post", idle_timeout=5, listeners={"open": print})
    assert es.options["method"] == "POST"
    assert es.options["idle_timeout"] == 5
    assert es.policy == ReconnectPolicy()
