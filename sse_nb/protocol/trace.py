"""The parser's decision for every line of a stream: what a wire view shows next to the bytes.

``TracingParser`` is a second, line-at-a-time reading of HTML, "Server-sent events" §9.2.5
"Parsing an event stream" and §9.2.6 "Interpreting an event stream". It gives the same events,
last event ID and reconnection time as ``EventParser`` (the property tests check both against
the same character-at-a-time reference, however the bytes are cut), and for each line it also
says which rule of the standard applied. ``EventParser`` itself carries no trace at all, so
tracing costs nothing to a stream that is not traced: a tool that wants the decisions feeds the
same bytes to a ``TracingParser`` of its own.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .events import Event
from .parser import MAX_LINE_LENGTH, MAX_RETRY, LineTooLongError

__all__ = [
    "BLANK",
    "BOM",
    "COMMENT",
    "DATA",
    "DISCARDED",
    "DISPATCH",
    "EVENT",
    "ID",
    "ID_NUL",
    "IGNORED",
    "RETRY",
    "RETRY_BAD",
    "Step",
    "TracingParser",
]

#: "The UTF-8 decode algorithm strips one leading UTF-8 Byte Order Mark (BOM), if any."
BOM = "BOM stripped"
#: "If the line starts with a U+003A COLON character (:): Ignore the line."
COMMENT = "comment"
#: "If the field name is "data": Append the field value to the data buffer, then append a
#: single U+000A LINE FEED (LF) character to the data buffer."
DATA = "data"
#: "If the field name is "event": Set the event type buffer to field value."
EVENT = "event"
#: "If the field name is "id": If the field value does not contain U+0000 NULL, then set the
#: last event ID buffer to the field value."
ID = "id"
#: "... Otherwise, ignore the field." (an ``id`` holding NUL)
ID_NUL = "id with NUL ignored"
#: "If the field name is "retry": If the field value consists of only ASCII digits, then ...
#: set the event stream's reconnection time to that integer."
RETRY = "retry"
#: "... Otherwise, ignore the field." (a ``retry`` that is not all ASCII digits, or too big)
RETRY_BAD = "retry not all digits: ignored"
#: "Otherwise: The field is ignored." (an unknown field name)
IGNORED = "unknown field ignored"
#: "If the line is empty (a blank line): Dispatch the event."
DISPATCH = "dispatch"
#: "If the data buffer is an empty string, set the data buffer and the event type buffer to the
#: empty string and return." (a blank line with no data: nothing reaches a listener)
BLANK = "blank line, no data: nothing dispatched"
#: "If the file ends in the middle of an event, before the final empty line, the incomplete
#: event is not dispatched."
DISCARDED = "end of stream: unfinished event discarded"

_RETRY_DIGITS = len(str(MAX_RETRY))
_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM_BYTES = b"\xef\xbb\xbf"


class Step(NamedTuple):
    """One line of the stream and what the standard made of it."""

    #: Index of the ``feed`` call whose bytes ended this line (0 for the first chunk).
    chunk: int
    #: The line as received, with its line end (CR, LF or CRLF; none for ``DISCARDED``/``BOM``).
    raw: bytes
    #: One of the decision constants of this module (``DATA``, ``ID_NUL``, ``DISPATCH``, ...).
    decision: str
    #: The field's value after the standard's one-space strip ("" where there is none).
    value: str
    #: The event a ``DISPATCH`` step delivered.
    event: Event | None = None


class TracingParser:
    """Feed it a stream's bytes; it returns the events, and ``steps`` says why, line by line.

    ``steps`` holds the steps completed by the latest ``feed`` (or ``end``) call only, so a
    long stream does not grow memory; a caller that wants them all keeps them.

    >>> p = TracingParser()
    >>> [s.decision for s in (p.feed(b"id: 1\\x00\\nretry: x\\ndata: a\\n\\n"), p.steps)[1]]
    ['id with NUL ignored', 'retry not all digits: ignored', 'data', 'dispatch']
    """

    def __init__(
        self,
        last_event_id: str = "",
        retry: int | None = None,
        *,
        max_line_length: int = MAX_LINE_LENGTH,
    ) -> None:
        self.last_event_id = last_event_id
        self.retry = retry
        self.steps: list[Step] = []
        self.chunks = 0  # feed calls so far
        self._max_line_length = max_line_length
        self._line = bytearray()
        self._head = b""  # the first bytes while they may still be a BOM
        self._started = False
        self._skip_lf = False
        self._id_buffer = last_event_id
        self._data: list[str] = []
        self._type = ""
        self._own_id: str | None = None
        self._own_retry: int | None = None
        self._block = False  # a line of the current event has been read

    def feed(self, data: bytes) -> list[Event]:
        """Parse the next chunk; return the events it completes (``steps`` says how)."""
        chunk = self.chunks
        self.chunks += 1
        self.steps = []
        events: list[Event] = []
        if not self._started:
            data = self._head + data
            if len(data) < 3 and _BOM_BYTES.startswith(data):
                self._head = data
                return events
            self._head = b""
            self._started = True
            if data.startswith(_BOM_BYTES):
                self.steps.append(Step(chunk, _BOM_BYTES, BOM, ""))
                data = data[3:]
        if not data:
            return events
        if self._skip_lf and data[0] == 10:
            data = data[1:]  # the LF of a CRLF whose CR ended the previous chunk
        self._skip_lf = False
        pos = 0
        for m in _LINE_END.finditer(data):
            self._line += data[pos : m.start()]
            end = m.group()
            if end == b"\r" and m.end() == len(data):
                self._skip_lf = True  # a CR at the chunk's end may be the first half of a CRLF
            raw = bytes(self._line) + end
            self._line.clear()
            self._interpret(chunk, raw, len(end), events)
            pos = m.end()
        self._line += data[pos:]
        if len(self._line) > self._max_line_length:
            raise LineTooLongError(
                f"a line of the event stream grew past {self._max_line_length} bytes", events
            )
        return events

    def end(self) -> list[Step]:
        """The stream ended: the unfinished event, if any, is discarded (and said so)."""
        self.steps = []
        if self._line or self._block:
            self.steps.append(Step(self.chunks, bytes(self._line), DISCARDED, ""))
        self._line.clear()
        self._data, self._type, self._own_id, self._own_retry = [], "", None, None
        self._block = False
        return self.steps

    def _interpret(self, chunk: int, raw: bytes, eol: int, events: list[Event]) -> None:
        line = raw[:-eol].decode("utf-8", "replace")
        steps = self.steps
        if not line:
            # Dispatch, §9.2.6: the last event ID string takes the buffer's value first.
            self.last_event_id = self._id_buffer
            self._block = False
            if not self._data:
                steps.append(Step(chunk, raw, BLANK, ""))
            else:
                ev = Event(
                    self._type or "message",
                    "\n".join(self._data),
                    self._id_buffer,
                    self._own_id,
                    self._own_retry,
                )
                events.append(ev)
                steps.append(Step(chunk, raw, DISPATCH, ev.data, ev))
            self._data, self._type, self._own_id, self._own_retry = [], "", None, None
            return
        self._block = True
        if line[0] == ":":
            steps.append(Step(chunk, raw, COMMENT, line[1:]))
            return
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
            steps.append(Step(chunk, raw, DATA, value))
        elif name == "event":
            self._type = value
            steps.append(Step(chunk, raw, EVENT, value))
        elif name == "id":
            if "\x00" in value:
                steps.append(Step(chunk, raw, ID_NUL, value))
            else:
                self._id_buffer = self._own_id = value
                steps.append(Step(chunk, raw, ID, value))
        elif name == "retry":
            digits = value.lstrip("0") or "0"
            if value.isascii() and value.isdigit() and len(digits) <= _RETRY_DIGITS:
                ms = int(digits)
                if ms <= MAX_RETRY:
                    self.retry = self._own_retry = ms
                    steps.append(Step(chunk, raw, RETRY, value))
                    return
            steps.append(Step(chunk, raw, RETRY_BAD, value))
        else:
            steps.append(Step(chunk, raw, IGNORED, value))
