"""Bytes in, events out: the event-stream parser of the HTML standard, with no I/O.

Theory of operation
-------------------
HTML, "Server-sent events" (§9.2.5 "Parsing an event stream", §9.2.6 "Interpreting an event
stream") describes a character-at-a-time state machine. We keep its state exactly but move
whole chunks through C-level string operations:

1. Decode. "The stream must be decoded using the UTF-8 decode algorithm": an incremental UTF-8
   decoder with U+FFFD replacement keeps a multi-byte character split across chunks intact. One
   leading U+FEFF (BOM) is dropped, only at the very start of the stream.
2. Normalise line ends. "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE
   FEED (CRLF) character pair, a single U+000A LINE FEED (LF) character, or a single U+000D
   CARRIAGE RETURN (CR) character." ``str.replace`` turns CRLF then CR into LF. A chunk ending
   in CR leaves ``_skip_lf`` set, so an LF opening the next chunk is the second half of a CRLF
   and is dropped. U+2028/U+2029 are not line ends (``str.splitlines`` would split on them).
3. Split into blocks. An empty line dispatches, so ``"\\n\\n"`` separates events; each complete
   block is interpreted line by line and dispatched. Complete lines after the last blank line are
   interpreted at once (``retry:`` takes effect as soon as its line ends), and only the final
   partial line waits in ``_tail`` for more bytes.
4. Dispatch (§9.2.6): the event source's last event ID becomes the last-event-ID buffer even
   when no event is dispatched; an empty data buffer dispatches nothing; one trailing LF of the
   data buffer is removed; the type defaults to ``message``; data and type buffers are reset.

"Once the end of the file is reached, any pending data must be discarded": a block with no
final empty line is never dispatched, so a parser simply dropped at end of stream is correct.
"""

from __future__ import annotations

import codecs

from .events import Event

__all__ = ["MAX_LINE_LENGTH", "EventParser"]

#: Longest partial line (in characters) held while waiting for its end: a stream that never
#: sends a line break must not grow memory without bound. 16 MiB is far beyond any real event.
MAX_LINE_LENGTH = 16 * 1024 * 1024

_BOM = "\ufeff"


class LineTooLongError(ValueError):
    """A line exceeded ``max_line_length`` characters without ending."""


class EventParser:
    """Feed it the bytes of one event stream; it returns the events they complete.

    ``last_event_id`` is the event source's last event ID string (what a client sends back as
    ``Last-Event-ID``); ``retry`` is the latest reconnection time the server asked for, in ms.
    Both may be seeded from an earlier connection, since they belong to the event source, not to
    one response.

    >>> p = EventParser()
    >>> p.feed(b"id: 1\\ndata: hello\\n\\n")
    [Event(type='message', data='hello', last_event_id='1', id='1', retry=None)]
    """

    __slots__ = (
        "_block_id",
        "_block_retry",
        "_data",
        "_decoder",
        "_event_type",
        "_id_buffer",
        "_max_line_length",
        "_skip_lf",
        "_started",
        "_tail",
        "last_event_id",
        "retry",
    )

    def __init__(
        self,
        last_event_id: str = "",
        retry: int | None = None,
        *,
        max_line_length: int = MAX_LINE_LENGTH,
    ) -> None:
        self.last_event_id: str = last_event_id
        self.retry: int | None = retry
        self._max_line_length = max_line_length
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._started = False  # has any character been decoded (BOM check done)?
        self._skip_lf = False  # previous chunk ended in CR
        self._tail = ""  # the partial line after the last line end
        # HTML §9.2.6 buffers: data, event type, last event ID; plus this block's own fields.
        self._data: list[str] = []
        self._event_type = ""
        self._id_buffer = last_event_id
        self._block_id: str | None = None
        self._block_retry: int | None = None

    def feed(self, data: bytes) -> list[Event]:
        """Parse the next chunk of the stream; return the events it completes, in order."""
        text = self._decoder.decode(data)
        if not text:
            return []
        if not self._started:
            self._started = True
            if text[0] == _BOM:
                text = text[1:]
                if not text:
                    return []
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        if "\r" in text:
            self._skip_lf = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if self._tail:
            text = self._tail + text
        blocks = text.split("\n\n")
        last = blocks.pop()
        events: list[Event] = []
        if blocks:
            interpret = self._interpret
            dispatch = self._dispatch
            append = events.append
            for block in blocks:
                interpret(block, events)
                ev = dispatch()
                if ev is not None:
                    append(ev)
        # ``last`` holds complete lines (interpreted now) and one partial line (kept).
        nl = last.rfind("\n")
        if nl >= 0:
            self._interpret(last[:nl], events)
            last = last[nl + 1 :]
        if len(last) > self._max_line_length:
            self._tail = ""
            raise LineTooLongError(
                f"a line of the event stream grew past {self._max_line_length} characters "
                "without a line break"
            )
        self._tail = last
        return events

    def _interpret(self, block: str, events: list[Event]) -> None:
        """Interpret complete lines (joined by LF, no final LF).

        An empty line can still appear here: when the previous chunk ended right after a line
        end, the LF that completes the blank line opens this chunk's first block.
        """
        for line in block.split("\n"):
            if not line:
                ev = self._dispatch()
                if ev is not None:
                    events.append(ev)
                continue
            colon = line.find(":")
            if colon == 0:
                continue  # a comment
            if colon < 0:
                name, value = line, ""
            else:
                name = line[:colon]
                value = line[colon + 1 :]
                if value[:1] == " ":
                    value = value[1:]
            if name == "data":
                self._data.append(value)
            elif name == "id":
                if "\x00" not in value:
                    self._id_buffer = value
                    self._block_id = value
            elif name == "event":
                self._event_type = value
            elif name == "retry":
                if value.isdigit() and value.isascii():
                    self.retry = self._block_retry = int(value)
            # Any other field is ignored, as the standard says.

    def _dispatch(self) -> Event | None:
        self.last_event_id = self._id_buffer
        data = self._data
        if not data:
            self._event_type = ""
            self._block_id = None
            self._block_retry = None
            return None
        ev = Event(
            self._event_type or "message",
            data[0] if len(data) == 1 else "\n".join(data),
            self._id_buffer,
            self._block_id,
            self._block_retry,
        )
        self._data = []
        self._event_type = ""
        self._block_id = None
        self._block_retry = None
        return ev
