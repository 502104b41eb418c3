"""The CLI (``python -m sse_nb ARGS``) as a child process for tests, its output lines kept."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from typing import IO

from tests.conftest import wait_until

__all__ = ["PROC_TIMEOUT", "Proc"]

#: Longest a subprocess may take to start, print or end, even on a loaded 2-core machine.
PROC_TIMEOUT = 30.0


class Proc:
    """``python -m sse_nb ARGS``; ``out`` and ``err`` fill with its lines as it prints them.

    ``timeout`` bounds every wait on it (a line, an exit); ``env`` adds to this process's.
    """

    def __init__(
        self,
        *args: str,
        stdin: int | None = subprocess.DEVNULL,
        env: dict[str, str] | None = None,
        timeout: float = PROC_TIMEOUT,
    ) -> None:
        self.timeout = timeout
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "sse_nb", *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", **(env or {})},
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.popen.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.popen.stderr, self.err), daemon=True),
        ]
        for t in self._readers:
            t.start()

    @staticmethod
    def _read(stream: IO[str] | None, into: list[str]) -> None:
        assert stream is not None
        for line in stream:
            into.append(line.rstrip("\n"))

    def wait_line(self, pattern: str, *, stream: str = "out", after: int = 0) -> re.Match[str]:
        """The first match of ``pattern`` in the lines of ``stream`` from line ``after`` on.

        Fails at once when the process has ended and all its output is read without a match.
        """
        lines = self.out if stream == "out" else self.err
        rx = re.compile(pattern)

        def find() -> re.Match[str] | None:
            ended = self.popen.poll() is not None and not any(t.is_alive() for t in self._readers)
            match = next((m for line in lines[after:] if (m := rx.search(line))), None)
            if match is None and ended:
                raise AssertionError(f"exited {self.popen.returncode}: {self.out} {self.err}")
            return match

        found: re.Match[str] = wait_until(
            find, timeout=self.timeout, what=f"{pattern!r} on {stream}: {self.out} {self.err}"
        )
        return found

    def write(self, text: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(text)
        self.popen.stdin.flush()

    def close_stdin(self) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.close()

    def finish(self, sig: int | None = signal.SIGINT) -> int:
        """Send ``sig`` (if still running), wait for the exit and the last output lines."""
        if sig is not None and self.popen.poll() is None:
            self.popen.send_signal(sig)
        code = self.popen.wait(self.timeout)
        for t in self._readers:
            t.join(self.timeout)
        return code

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` (if still running) and wait for the exit; kill it if that takes too long."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        try:
            self.popen.wait(self.timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(self.timeout)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(self.timeout)
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()
