"""A mail server that accepts every message and keeps only a count, in its own process.

    .venv/bin/python bench/smtp_sink.py PORT STATS_FILE

After each message STATS_FILE holds "messages bytes". Stops on SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self, stats: Path) -> None:
        self.stats = stats
        self.messages = 0
        self.bytes = 0
        stats.write_text("0 0")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        self.bytes += len(envelope.content or b"")
        self.stats.write_text(f"{self.messages} {self.bytes}")
        return "250 OK"


def main() -> None:
    port, stats = int(sys.argv[1]), Path(sys.argv[2])
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(Counter(stats), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
