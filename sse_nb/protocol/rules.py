"""The field rules both peers apply: which ids may be sent and resumed, which ``retry:`` values.

One rule, one wording, for every place that checks: the encoder (what may be written at all),
``EventServer.publish()`` and the server's ``Last-Event-ID`` lookup (what may be resumed from),
and the client (what it may send back).

Two levels of the id rule:

- *on the wire* (``resumable=False``): HTML "Server-sent events" §9.2.6 sets the last event ID
  buffer from an ``id:`` field only "if the field value does not contain U+0000 NULL", and a CR
  or LF would end the field (§9.2.5). So an id holds no CR, LF or NUL. An empty id is legal: it
  resets the last event ID, so the next reconnect sends no ``Last-Event-ID``.
- *resumable*: an id a client can hand back in the ``Last-Event-ID`` header (§9.2.4) and find
  again. It is not empty; it is at most ``MAX_ID_LENGTH`` characters (a server looks up no longer
  id); it holds no control character (a header value cannot carry one); and it has no space or
  tab at either end (Fetch strips HTTP whitespace from a header value, so the id would come back
  changed).
"""

from __future__ import annotations

__all__ = ["MAX_ID_LENGTH", "check_field", "check_id", "check_retry", "id_problem"]

#: Longest id a server looks up when a client resumes: a longer ``Last-Event-ID`` is answered
#: with a gap signal (the lookup would cost memory for a key no sane server hands out), so an id
#: longer than this is refused at publish time: it could never be resumed from.
MAX_ID_LENGTH = 1024

#: Characters of a refused value quoted in an error message: enough to recognise it.
_SHOWN = 60

_WIRE_FORBIDDEN = ("\r", "\n", "\x00")
_HTTP_WHITESPACE = " \t"


def _shown(value: str) -> str:
    return repr(value) if len(value) <= _SHOWN else repr(value[:_SHOWN]) + "..."


def _wire_problem(name: str, value: str) -> str | None:
    for ch in _WIRE_FORBIDDEN:
        if ch in value:
            why = (
                "a line end would cut the field short"
                if ch != "\x00"
                else "a browser ignores an id containing NUL"
                if name == "id"
                else "NUL is refused in ids and types alike"
            )
            return f"contains {ch!r}: an SSE {name} cannot hold CR, LF or NUL ({why})"
    return None


def id_problem(value: str, *, resumable: bool = True) -> str | None:
    """Why ``value`` cannot serve as an event id, or ``None`` when it can (see module docstring).

    ``resumable=False`` applies the wire rule only (no CR, LF or NUL).
    """
    problem = _wire_problem("id", value)
    if problem is not None or not resumable:
        return problem
    if not value:
        return "is empty: an empty id resets the last event ID, so no client can resume from it"
    if len(value) > MAX_ID_LENGTH:
        return (
            f"is {len(value)} characters long: a resumable id is at most {MAX_ID_LENGTH} "
            "(MAX_ID_LENGTH), since a server looks up no longer Last-Event-ID"
        )
    if value[0] in _HTTP_WHITESPACE or value[-1] in _HTTP_WHITESPACE:
        return (
            "has a space or tab at an end: a Last-Event-ID header loses it, so the id "
            "sent back would not match"
        )
    for ch in value:
        if ch < " " or ch == "\x7f":
            return f"contains {ch!r}: a Last-Event-ID header cannot carry a control character"
    return None


def check_field(name: str, value: object) -> str:
    """``value`` if it may be written as field ``name`` (``event`` or ``id``) on the wire."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    problem = _wire_problem(name, value)
    if problem is not None:
        raise ValueError(f"{name} {_shown(value)} {problem}")
    return value


def check_id(value: object, name: str = "id", *, resumable: bool = True) -> str:
    """``value`` if it is a usable event id; else ``TypeError`` or ``ValueError`` saying why.

    ``name`` is what the caller calls it in the message (``"id"``, ``"last_event_id"``).
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    problem = id_problem(value, resumable=resumable)
    if problem is not None:
        raise ValueError(f"{name} {_shown(value)} {problem}")
    return value


def check_retry(retry: object) -> int:
    """``retry`` if it is a reconnection time the wire can carry: a non-negative int of ms.

    HTML §9.2.6: a ``retry:`` field is used only when its value is ASCII digits, so a bool, a
    float or a negative number cannot be written.
    """
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
        raise ValueError(f"retry must be a non-negative int of milliseconds, not {retry!r}")
    return retry
