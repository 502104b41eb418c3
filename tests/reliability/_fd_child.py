"""A server in its own process with a lowered descriptor limit (run by test_descriptors.py).

Usage: ``python _fd_child.py LIMIT CAP`` (CAP: a number, or ``default``). Prints the port, then
publishes the time on channel ``tick`` every TICK seconds until stdin closes; a line ``stats``
on stdin prints the listener's counts as JSON.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time

from sse_nb.server import EventServer

#: Seconds between published timestamps (the well-behaved client's latency probe).
TICK = 0.02


def main() -> None:
    limit, cap = int(sys.argv[1]), sys.argv[2]
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    server = EventServer(heartbeat=None, max_connections=None if cap == "default" else int(cap))
    server.start()
    print(server.port, flush=True)
    done = threading.Event()

    def tick() -> None:
        while not done.wait(TICK):
            server.publish(repr(time.time()), channel="tick")

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    for line in sys.stdin:
        if line.strip() == "stats":
            listener = server._lifecycle.listener
            assert listener is not None
            stats = {"open": listener.open, "refused": listener.refused}
            print(json.dumps(stats), flush=True)
    done.set()
    ticker.join(5)
    server.stop()


if __name__ == "__main__":
    main()
