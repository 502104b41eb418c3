"""Bytes in, events out: the event-stream parser of the HTML standard, with no I/O.

Theory of operation
-------------------
HTML, "Server-sent events", §9.2.5 "Parsing an event stream" and §9.2.6 "Interpreting an event
stream", describe a character-at-a-time state machine. We keep its results exactly but move
whole chunks through C-level string operations:

1. Cut lines on bytes. "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A
   LINE FEED (CRLF) character pair, a single U+000A LINE FEED (LF) character, or a single U+000D
   CARRIAGE RETURN (CR) character." CR and LF are single bytes that never occur inside a
   multi-byte UTF-8 character, so this works before decoding: ``bytes.replace`` turns CRLF then
   CR into LF. A chunk ending in CR sets ``_skip_lf``, so an LF opening the next chunk is the
   second half of a CRLF and is dropped. U+2028, U+2029, U+0085 and friends are not line ends
   (``str.splitlines`` would split on them, so it is never used). "The UTF-8 decode algorithm
   strips one leading UTF-8 Byte Order Mark (BOM), if any": three bytes, checked once, at the
   very start of the stream.
2. Cut at the last blank line. Everything up to it is a run of whole blocks, interpreted now;
   the unfinished block after it waits in ``_pending`` as raw bytes (a long line arriving in many
   chunks is joined once, when its block ends, and a chunk that ends no line costs one append).
   A block therefore always starts with fresh data and event type buffers; only the last event
   ID buffer carries over. One effect of an unfinished block cannot wait: "set the event
   stream's reconnection time" happens when a ``retry:`` line ends, so complete lines of the
   pending block that start with ``retry`` are applied at once (``_early_retry``); applying them
   again when the block ends changes nothing.
   When reads are shorter than the events (long events, each completed by its own read), the
   unfinished block is usually a header and the start of one long data line. Its header is
   then read at once (``_open_at``) and only the data value waits; the read that ends that
   line with a blank line after it joins and decodes the value alone and builds the event,
   with no run, no interpreter and no second pass over the data (``_close_open``). Any other
   shape puts the header back in front and takes the general path.
3. Decode the run. "Event streams are always decoded as UTF-8", with U+FFFD replacement
   (Python replaces maximal subparts, as the Encoding standard does). A run starts and ends at
   a line end, so decoding it alone gives exactly what decoding the whole stream would.
4. Interpret the run with one of three interpreters that give the same results (the property
   tests check each against a character-at-a-time reference on random streams cut at random
   places):

   - ``_fast``: for blocks in the form servers write (optional ``event: ``, optional non-empty
     ``id: ``, one or more ``data: `` lines, a blank line), one regular-expression pass finds
     every block and C-level ``map``/``zip`` build the events, with no Python code per line. It
     is trusted only when it provably read the whole run: the matched lengths must add up to
     the run's length exactly; otherwise the run goes to ``_lines``.
   - ``_long_blocks``: when recent events were long (``_LONG_EVENT``), a regular expression
     walking every character costs more than ``str.find`` jumping to the next LF with
     ``memchr``: each block's header is matched, and its single data line found by ``find``.
     The first block in another shape hands the rest of the run to ``_lines``. A run that is
     one ``id:`` + ``data:`` block (long events read in pieces smaller than an event) is
     interpreted inline in ``feed`` with a few ``startswith``/``find`` calls.
   - ``_lines``: the standard's per-line steps, literally. It handles anything (comments, fields
     without a colon, ``retry:``, NUL in an id, odd spacing).

5. Dispatch (§9.2.6): the event source's last event ID string becomes the last event ID buffer
   even when nothing is dispatched (an ``id:``-only block changes what a reconnect sends); an
   empty data buffer dispatches nothing; the final LF of the data buffer is removed; the type
   defaults to ``message``; the data and event type buffers are reset.

The parser keeps no trace of its decisions, so it pays nothing for one; ``trace.TracingParser``
reads the same bytes line by line and says which rule applied to each (the wire view uses it).

"Once the end of the file is reached, any pending data must be discarded. (If the file ends in
the middle of an event, before the final empty line, the incomplete event is not dispatched.)"
Its ``id:`` does not reach ``last_event_id`` either, since only dispatch copies it there. So a
parser simply dropped at end of stream is correct.
"""

from __future__ import annotations

import re
from codecs import utf_8_decode
from collections.abc import Iterable
from itertools import repeat

from .events import Event

__all__ = [
    "MAX_EVENT_LENGTH",
    "MAX_LINE_LENGTH",
    "MAX_RETRY",
    "EventParser",
    "EventTooLongError",
    "LineTooLongError",
]

#: Longest partial line (in bytes) held while waiting for its end: a stream that never
#: sends a line break must not grow memory without bound. 16 MiB is far beyond any real event.
MAX_LINE_LENGTH = 16 * 1024 * 1024
#: Largest unfinished event (in bytes) held while waiting for its blank line: endless ``data:``
#: lines without one must not grow memory without bound either.
MAX_EVENT_LENGTH = 64 * 1024 * 1024

#: Largest ``retry:`` accepted, in ms: Chromium reads it as an unsigned 64-bit integer and
#: ignores a value that does not fit; we do the same rather than hold an unbounded integer.
MAX_RETRY = 2**64 - 1
_RETRY_DIGITS = len(str(MAX_RETRY))

#: Mean characters per dispatched event above which the next chunk goes to ``_long_blocks``:
#: the block expression walks every character, while ``str.find`` jumps to a line end.
_LONG_EVENT = 1024
#: After the block expression fails to cover a run, chunks skipped before it is tried again, so
#: that a stream in an unusual (valid) style does not pay for a useless pass on every chunk.
_FAST_RETRY_AFTER = 8

_BOM_BYTES = b"\xef\xbb\xbf"
# Blocks as servers write them, for which §9.2.6 gives exactly these results: an optional
# non-empty ``event: `` line, an optional non-empty ``id: `` line without NUL (the event line
# may come before or after it, never both), ``data: `` lines, and a blank line. Exactly one
# space after each colon: "If value starts with a U+0020 SPACE character, remove it" removes only
# that one, and a second space stays in the group. Empty event and id values are left to
# ``_lines`` so that "absent" and "empty" never mix up. ``.`` stops at LF only, since CR is gone
# by now; possessive repeats never backtrack.
_BLOCK = re.compile(
    r"(?:event: (.+)\n|)(?:id: ([^\n\x00]+)\n|)(?(1)|(?:event: (.+)\n|))"
    r"data: (.*(?:\ndata: .*)*+)\n\n"
)
# The same header, for blocks with long data lines: matched, then the data's end found by memchr.
_HEAD = re.compile(r"(?:event: (.+)\n|)(?:id: ([^\n\x00]+)\n|)(?(1)|(?:event: (.+)\n|))data: ")
# The two commonest shapes, on their own: a narrower expression is a faster one.
_ID_DATA = re.compile(r"id: ([^\n\x00]+)\ndata: (.*)\n\n")
_DATA = re.compile(r"data: (.*)\n\n")
# ``_HEAD`` on bytes, to read the header of an unfinished block whose data line is long.
_HEAD_BYTES = re.compile(_HEAD.pattern.encode())
_new = tuple.__new__
_NONES = repeat(None)  # an endless column of None, shared: ``repeat`` never runs out


class LineTooLongError(ValueError):
    """A line exceeded ``max_line_length`` bytes without ending.

    ``events`` holds the events completed by the same chunk before the limit was hit, so that
    nothing already received is lost. The parser cannot continue after this error.
    """

    def __init__(self, message: str, events: list[Event] | None = None) -> None:
        super().__init__(message)
        self.events: list[Event] = events if events is not None else []


class EventTooLongError(LineTooLongError):
    """An event exceeded ``max_event_length`` bytes without its blank line.

    A kind of ``LineTooLongError``, so that one handler covers both limits.
    """


class EventParser:
    """Feed it the bytes of one event stream; it returns the events they complete.

    ``last_event_id`` is the event source's last event ID string (what a client sends back as
    ``Last-Event-ID``); ``retry`` is the latest reconnection time the server asked for, in ms.
    Both may be seeded from an earlier connection, since they belong to the event source, not to
    one response; the seed also starts the last event ID buffer, as Chromium's parser does, so
    an event without ``id:`` after a reconnect still carries the ID resumed from.

    An unfinished line longer than ``max_line_length`` bytes raises ``LineTooLongError``, an
    unfinished event longer than ``max_event_length`` bytes ``EventTooLongError`` (a kind of
    ``LineTooLongError``); either carries the events completed before it, and the parser then
    refuses further input.

    >>> p = EventParser()
    >>> p.feed(b"id: 1\\ndata: hello\\n\\n")
    [Event(type='message', data='hello', last_event_id='1', id='1', retry=None)]
    """

    __slots__ = (
        "_block",
        "_bom",
        "_failed",
        "_fast_wait",
        "_head",
        "_id_buffer",
        "_long",
        "_max_event_length",
        "_max_line_length",
        "_open",
        "_open_head",
        "_partial",
        "_pending",
        "_ready",
        "_skip_lf",
        "_started",
        "last_event_id",
        "retry",
    )

    def __init__(
        self,
        last_event_id: str = "",
        retry: int | None = None,
        *,
        max_line_length: int = MAX_LINE_LENGTH,
        max_event_length: int = MAX_EVENT_LENGTH,
    ) -> None:
        self.last_event_id: str = last_event_id
        self.retry: int | None = retry
        self._max_line_length = max_line_length
        self._max_event_length = max_event_length
        self._bom = b""  # the first bytes of the stream while they may still be a BOM
        self._started = False  # is the BOM check done?
        self._ready = False  # started and not failed: a chunk without line ends may be appended
        self._skip_lf = False  # the previous chunk ended in CR
        self._pending: list[bytes] = []  # the unfinished block after the last blank line
        self._partial = 0  # bytes in the unfinished line at its end (0: a line just ended)
        self._block = 0  # bytes in the unfinished block
        self._head = b""  # the first five bytes of that line (is it a ``retry`` line?)
        self._id_buffer = last_event_id  # §9.2.6 "last event ID buffer"
        self._failed = False  # a line overflowed: the stream position is lost
        self._long = False  # recent events are long: skip the block expression
        self._fast_wait = 0  # chunks to skip the block expression after it failed
        # The unfinished line is the data line of a block in the common shape: its type and
        # own id, read already; ``_pending`` then holds the data value alone, ``_open_head`` the
        # block's bytes before it.
        self._open: tuple[str, str | None] | None = None
        self._open_head = b""

    def feed(self, data: bytes) -> list[Event]:
        """Parse the next chunk of the stream; return the events it completes, in order.

        Raises ``LineTooLongError`` when a line grows past ``max_line_length`` bytes.
        """
        if self._ready and data and 10 not in data and 13 not in data:
            # No line end at all (a read smaller than a long line): append and return. ``in``
            # with an int is one memchr, the cheapest test there is.
            self._skip_lf = False
            return self._line_goes_on(data)
        if self._open is not None:
            # A long data line ends here. When a blank line follows at once (and the chunk holds
            # no CR), the block is complete with only its data value joined and decoded.
            k = data.find(10)
            if 0 <= k < len(data) - 1 and data[k + 1] == 10 and 13 not in data:
                return self._close_open(data, k)
            self._pending.insert(0, self._open_head)  # any other case: the general path
            self._open = None
        if self._failed:
            raise LineTooLongError("the event stream already overflowed a limit; start a new one")
        if not self._started:
            # UTF-8 decode strips one leading BOM: wait for three bytes, or fewer that differ.
            data = self._bom + data
            if len(data) < 3 and _BOM_BYTES.startswith(data):
                self._bom = data
                return []
            self._bom = b""
            self._started = self._ready = True
            if data[:3] == _BOM_BYTES:
                data = data[3:]
        if not data:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if data[0] == 10:  # LF: the second half of a CRLF split across chunks
                data = data[1:]
                if not data:
                    return []
        # CR and LF are single bytes that never occur inside a multi-byte UTF-8 character, so
        # lines can be cut before decoding.
        if 13 in data:
            self._skip_lf = data[-1] == 13
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

        nl = data.rfind(10)
        if nl < 0:
            return self._line_goes_on(data)

        # Find the end of the last blank line in this chunk. A blank line at its very start is
        # one only if the previous chunk ended with a line end.
        if self._long:
            end = -1
            i = nl
            while i > 0:
                if data[i - 1] == 10:
                    end = i + 1
                    break
                i = data.rfind(10, 0, i)
            if i == 0 and self._partial == 0:
                end = 1
        else:
            end = data.rfind(b"\n\n", 0, nl + 1)
            if end >= 0:
                end += 2
            elif data[0] == 10 and self._partial == 0:
                end = 1

        if end < 0:  # lines ended, but the block goes on
            if not (self._long and not self._pending and self._open_at(data, 0)):
                self._early_retry(data, nl, self._head)
                self._pending.append(data)
            self._partial = len(data) - nl - 1
            self._head = data[nl + 1 : nl + 6]
            self._block += len(data)
            if self._partial > self._max_line_length or self._block > self._max_event_length:
                self._overflow([])
            return []

        # Whole blocks: decode them in one piece. The run starts and ends at a line end, so no
        # character straddles its edges and decoding it alone gives what decoding the whole
        # stream would.
        size = len(data)
        # A memoryview saves copying a big run; a short one is cheaper to copy than to view.
        run = data if end == size else data[:end] if end < 8192 else memoryview(data)[:end]
        pending = self._pending
        if pending:
            pending.append(run)  # type: ignore[arg-type]
            run = b"".join(pending)
        text = utf_8_decode(run, "replace", True)[0]
        events: list[Event]
        # The commonest run is one block as servers write it (and a chunked response brings
        # each in its own read): interpreted here, with no call and no regular expression.
        eol = text.find("\n")
        if (
            text.startswith("id: ")
            and text.startswith("data: ", eol + 1)
            and "\x00" not in (own_id := text[4:eol])
            and own_id
            and text.find("\n", eol + 7) + 2 == len(text)
        ):
            # ``id: X`` (non-empty, no NUL), one ``data:`` line, the blank line.
            self._id_buffer = self.last_event_id = own_id
            events = [_new(Event, ("message", text[eol + 7 : -2], own_id, own_id, None))]
        elif eol + 2 == len(text) and text.startswith("data: "):
            # One ``data:`` line, the blank line: the last id stays.
            self.last_event_id = last = self._id_buffer
            events = [_new(Event, ("message", text[6:-2], last, None, None))]
        elif self._long:
            events = []
            self._long_blocks(text, events)
        elif self._fast_wait:
            events = []
            self._fast_wait -= 1
            self._lines(text, 0, len(text), events)
        elif not self._fast(text, len(text), events := []):
            self._fast_wait = _FAST_RETRY_AFTER
            self._lines(text, 0, len(text), events)
        # Choose the interpreter for the next chunk from this one's event sizes.
        self._long = len(text) > _LONG_EVENT * len(events)

        if end == size:
            self._pending = []
            self._partial = 0
            self._block = 0
            self._head = b""
            return events
        rest = data[end:]
        self._pending = [rest]
        self._block = len(rest)
        nl -= end
        if nl < 0:
            self._partial = len(rest)
            self._head = rest[:5]
            if self._long and len(events) == 1:
                self._open_at(rest, 0)
        else:
            self._partial = len(rest) - nl - 1
            self._head = rest[nl + 1 : nl + 6]
            if rest[:5] == b"retry" or (rest.find(10) < nl and self._retry_after_lf(rest, nl)):
                self._apply_retry(rest[: nl + 1])
            elif self._long and len(events) == 1:  # reads shorter than events
                self._open_at(rest, 0)
        if self._partial > self._max_line_length or self._block > self._max_event_length:
            self._overflow(events)
        return events

    def _open_at(self, data: bytes, pos: int) -> int:
        """Open the unfinished block ``data[pos:]`` if it is a header then an unended data line.

        The header must be in the common shape (``_HEAD``); it is read now, and only the data
        value waits in ``_pending`` (the header in ``_open_head``, should the block turn out
        otherwise). Type and id are decoded alone: they lie between ASCII bytes, so that equals
        decoding the stream. Returns where the value starts, or 0 when the block stays as it is.
        """
        event_type = "message"
        own_id: str | None = None
        if (
            data.startswith(b"id: ", pos)
            and (eol := data.find(10, pos)) > 0
            and data.startswith(b"data: ", eol + 1)
        ):  # the commonest header, read without the expression
            raw = data[pos + 4 : eol]
            if not raw or 0 in raw:
                return 0
            own_id = utf_8_decode(raw, "replace", True)[0]
            start = eol + 7
        elif data.startswith(b"data: ", pos):
            start = pos + 6
        else:
            head = _HEAD_BYTES.match(data, pos)
            if head is None:
                return 0
            start = head.end()
            before, raw_id, after = head.groups()
            if before or after:
                event_type = utf_8_decode(before or after, "replace", True)[0]
            if raw_id is not None:
                own_id = utf_8_decode(raw_id, "replace", True)[0]
        if data.find(10, start) >= 0:
            return 0
        self._open = (event_type, own_id)
        self._open_head = data[pos:start]
        self._pending = [data[start:]]
        return start

    def _close_open(self, data: bytes, k: int) -> list[Event]:
        """Dispatch the open block, whose data line ends at ``data[k]`` and block at ``k + 1``.

        ``data`` holds no CR. When the rest of it opens another block, that costs no ``feed``.
        """
        pending = self._pending
        pending.append(data[:k])
        event_type, own_id = self._open  # type: ignore[misc]
        value = utf_8_decode(b"".join(pending), "replace", True)[0]
        if own_id is not None:
            self._id_buffer = own_id
        self.last_event_id = last = self._id_buffer
        event: Event = _new(Event, (event_type, value, last, own_id, None))
        pos = k + 2
        size = len(data)
        if pos < size and (start := self._open_at(data, pos)):
            self._partial = size - start + 6
            self._block = size - pos
            self._head = b"data:"
            if self._partial > self._max_line_length or self._block > self._max_event_length:
                self._overflow([event])
            return [event]
        self._open = None
        self._pending = []
        self._partial = 0
        self._block = 0
        self._head = b""
        if pos == size:
            return [event]
        try:
            events = self.feed(data[pos:])  # anything else after the blank line
        except LineTooLongError as exc:
            exc.events.insert(0, event)
            raise
        events.insert(0, event)
        return events

    def _line_goes_on(self, data: bytes) -> list[Event]:
        """Keep ``data``, which ends no line, for the unfinished line; check the limits."""
        self._pending.append(data)
        self._partial += len(data)
        self._block += len(data)
        if len(self._head) < 5:
            self._head = (self._head + data)[:5]
        if self._partial > self._max_line_length or self._block > self._max_event_length:
            self._overflow([])
        return []

    def _overflow(self, events: list[Event]) -> None:
        self._pending = []
        self._open = None
        self._failed = True
        self._ready = False
        if self._partial > self._max_line_length:
            raise LineTooLongError(
                f"a line of the event stream grew past {self._max_line_length} bytes "
                "without a line break",
                list(events),
            )
        raise EventTooLongError(
            f"an event of the event stream grew past {self._max_event_length} bytes "
            "without a blank line to end it",
            list(events),
        )

    def _early_retry(self, data: bytes, nl: int, head: bytes) -> None:
        """Apply ``retry:`` lines of the unfinished block that end in ``data[: nl + 1]``.

        ``head`` is the start of the line that ``data`` continues.
        """
        if (head + data[:5] if len(head) < 5 else head).startswith(b"retry"):
            self._apply_retry(b"".join(self._pending) + data[: nl + 1])
        elif self._retry_after_lf(data, nl):
            self._apply_retry(data[data.find(b"\n") + 1 : nl + 1])

    def _retry_after_lf(self, data: bytes, nl: int) -> bool:
        """Whether a line starting after an LF in ``data[:nl]`` starts with ``retry``."""
        if not self._long:
            return data.find(b"\nretry", 0, nl) >= 0
        i = data.find(10)  # long lines: hop between line ends, do not scan every byte
        while i < nl:
            if data.startswith(b"retry", i + 1):
                return True
            i = data.find(b"\n", i + 1)
        return False

    def _apply_retry(self, lines: bytes) -> None:
        """Set the reconnection time from the ``retry`` fields among complete ``lines``.

        They belong to the unfinished block; they are applied again, to the same effect, when
        the block ends.
        """
        for line in lines[:-1].split(b"\n"):
            if line[:5] == b"retry" and (len(line) == 5 or line[5:6] == b":"):
                value = line[6:]
                if value[:1] == b" ":
                    value = value[1:]
                ms = _retry_value(value.decode("utf-8", "replace"))
                if ms is not None:
                    self.retry = ms

    def _fast(self, text: str, end: int, events: list[Event]) -> bool:
        """Interpret the whole blocks ``text[:end]`` if all are in a common shape.

        Returns False, having changed nothing, when they are not. Matches never overlap and
        lie inside the run, so when their lengths add up to the run's length they tile it:
        every character was read by the expression, and the run holds nothing else.
        """
        if text.startswith("id: "):
            pairs: list[tuple[str, str]] = _ID_DATA.findall(text, 0, end)
            if pairs:
                ids, datas = zip(*pairs, strict=True)
                n = len(ids)
                # "id: " LF "data: " LF LF
                if sum(map(len, ids)) + sum(map(len, datas)) + 13 * n == end:
                    events.extend(
                        map(
                            _new,
                            repeat(Event),
                            zip(repeat("message"), datas, ids, ids, _NONES, strict=False),
                        )
                    )
                    self._id_buffer = self.last_event_id = ids[-1]
                    return True
        elif text.startswith("data: "):
            only: list[str] = _DATA.findall(text, 0, end)
            if only and sum(map(len, only)) + 8 * len(only) == end:  # "data: " LF LF
                last = self._id_buffer
                events.extend(
                    map(
                        _new,
                        repeat(Event),
                        zip(repeat("message"), only, repeat(last), _NONES, _NONES, strict=False),
                    )
                )
                self.last_event_id = last
                return True
        rows: list[tuple[str, str, str, str]] = _BLOCK.findall(text, 0, end)
        if not rows:
            return False
        n = len(rows)
        types, ids, types_after, datas = zip(*rows, strict=True)
        no_type = types.count("")
        no_type_after = types_after.count("")
        no_id = ids.count("")
        covered = (
            sum(map(len, types))
            + sum(map(len, types_after))
            + 8 * (2 * n - no_type - no_type_after)  # "event: " LF
            + sum(map(len, ids))
            + 5 * (n - no_id)  # "id: " LF
            + sum(map(len, datas))
            + 8 * n  # "data: " LF LF
        )
        if covered != end:
            return False
        type_col: Iterable[str] = types
        if no_type == n and no_type_after == n:
            type_col = repeat("message")
        elif no_type_after == n:
            type_col = [t or "message" for t in types] if no_type else types
        else:
            type_col = [t or u or "message" for t, u in zip(types, types_after, strict=True)]
        data_col: Iterable[str] = datas
        if "\n" in "".join(datas):
            # Later data lines were captured with their "\ndata: " prefix; the buffer joins with LF.
            data_col = map(str.replace, datas, repeat("\ndata: "), repeat("\n"))
        last = self._id_buffer
        own: Iterable[str | None]
        lasts: Iterable[str]
        if no_id == n:
            own = _NONES
            lasts = repeat(last)
        elif not no_id:
            own = lasts = ids
            last = ids[-1]
        else:
            own = [i or None for i in ids]
            carried = []
            for i in ids:
                if i:
                    last = i
                carried.append(last)
            lasts = carried
        events.extend(
            map(_new, repeat(Event), zip(type_col, data_col, lasts, own, _NONES, strict=False))
        )
        self._id_buffer = self.last_event_id = last
        return True

    def _long_blocks(self, text: str, events: list[Event]) -> None:
        """Interpret the whole blocks ``text`` when their data lines are long.

        A block in the common shape with one ``data:`` line costs one match of its header and
        one ``memchr`` to the end of its data, however long that is; from the first block in
        any other shape on, the rest of the run goes to ``_lines``.
        """
        pos = 0
        stop = len(text)
        match = _HEAD.match
        find = text.find
        last = self._id_buffer
        append = events.append
        while pos < stop:
            m = match(text, pos)
            if m is None:
                break
            start = m.end()
            eol = find("\n", start)
            if text[eol + 1 : eol + 2] != "\n":
                break  # several data lines: leave the block to _lines
            before, own_id, after = m.groups()
            if own_id is not None:
                last = own_id
            append(_new(Event, (before or after or "message", text[start:eol], last, own_id, None)))
            pos = eol + 2
        self._id_buffer = self.last_event_id = last
        if pos < stop:
            self._lines(text, pos, stop, events)

    def _lines(self, text: str, pos: int, stop: int, events: list[Event]) -> None:
        """Interpret the whole blocks ``text[pos:stop]`` line by line (§9.2.6), as worded.

        ``text[stop - 1]`` ends a blank line. Lines are found with ``str.find``, which jumps to
        the next LF with ``memchr``, and a ``data: `` line is copied once, straight into the
        data buffer.
        """
        data: list[str] = []
        event_type = ""
        block_id: str | None = None
        block_retry: int | None = None
        id_buffer = self._id_buffer
        append = events.append
        find = text.find
        startswith = text.startswith
        while pos < stop:
            eol = find("\n", pos)
            if eol == pos:
                pos += 1
                # "If the line is empty (a blank line): Dispatch the event."
                if data:
                    append(
                        _new(
                            Event,
                            (
                                event_type or "message",
                                data[0] if len(data) == 1 else "\n".join(data),
                                id_buffer,
                                block_id,
                                block_retry,
                            ),
                        )
                    )
                    data = []
                event_type = ""
                block_id = None
                block_retry = None
                continue
            if startswith("data: ", pos, eol):  # the common cases, with a single copy
                data.append(text[pos + 6 : eol])
                pos = eol + 1
                continue
            if startswith("id: ", pos, eol):
                value = text[pos + 4 : eol]
                pos = eol + 1
                if "\x00" not in value:  # see "id" below
                    id_buffer = block_id = value
                continue
            line = text[pos:eol]
            pos = eol + 1
            colon = line.find(":")
            if colon == 0:
                continue  # "If the line starts with a U+003A COLON character (:)": a comment
            if colon < 0:
                # "Otherwise, the string is not empty but does not contain a U+003A COLON
                # character (:)": the whole line is the field name, the value is empty.
                name = line
                value = ""
            else:
                name = line[:colon]
                value = line[colon + 1 :]
                if value[:1] == " ":
                    value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "id":
                # "If the field value does not contain U+0000 NULL, then set the last event ID
                # buffer to the field value. Otherwise, ignore the field."
                if "\x00" not in value:
                    id_buffer = block_id = value
            elif name == "event":
                event_type = value
            elif name == "retry":
                ms = _retry_value(value)
                if ms is not None:
                    self.retry = block_retry = ms
            # "Otherwise: The field is ignored."
        # Dispatch step 1 ran at the run's last blank line: "Set the last event ID string of
        # the event source to the value of the last event ID buffer."
        self._id_buffer = self.last_event_id = id_buffer


def _retry_value(value: str) -> int | None:
    """The reconnection time a ``retry`` field value sets, or None when it is ignored.

    "If the field value consists of only ASCII digits, then interpret the field value as an
    integer in base ten, and set the event stream's reconnection time to that integer.
    Otherwise, ignore the field." An empty value is not a number. Beyond ``MAX_RETRY`` the value
    is ignored, as in Chromium.
    """
    if not (value.isdigit() and value.isascii()):
        return None
    digits = value.lstrip("0") or "0"
    if len(digits) > _RETRY_DIGITS:
        return None
    ms = int(digits)
    return ms if ms <= MAX_RETRY else None
