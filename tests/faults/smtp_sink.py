"""A real SMTP server in its own process that records every message it is given and what became of it.

Run as ``python -m tests.faults.smtp_sink PORT RECORD_FILE MODE_FILE``. Each message the server is given
is written to RECORD_FILE as one JSON line (recipients, Message-ID, the outbox entries it carries from the
``X-Followthrough-Entries`` header, and the outcome) *before* the answer goes back to the sender, so a
sender killed after the server accepted a message still has that message counted, as a real mail server
would have delivered it. MODE_FILE says how to answer, read for every message:
``accept`` (250), ``refuse`` (451, try again later), ``refuse-to ADDRESS`` (451 for that recipient only)
``hang`` (read the message and say nothing until
the mode changes; a sender that gave up by then is not counted as delivered) or ``hang-deliver`` (the
same, but the message is delivered even though its sender gave up: the window a resend may come from).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ENTRIES_HEADER = "X-Followthrough-Entries"


class Recorder:
    def __init__(self, record: Path, mode: Path) -> None:
        self.record = record.open("a", buffering=1)
        self.mode_file = mode

    def mode(self) -> str:
        try:
            return self.mode_file.read_text().strip() or "accept"
        except FileNotFoundError:
            return "accept"

    def write(self, envelope: Any, outcome: str, sender_gone: bool = False) -> None:
        headers = BytesParser(policy=default_policy).parsebytes(envelope.original_content, headersonly=True)
        entries = str(headers.get(ENTRIES_HEADER, "")).split()
        line = {
            "t": time.time(),
            "to": list(envelope.rcpt_tos),
            "message_id": str(headers.get("Message-ID", "")),
            "subject": str(headers.get("Subject", "")),
            "entries": [int(e) for e in entries],
            "outcome": outcome,
            "sender_gone": sender_gone,
        }
        self.record.write(json.dumps(line) + "\n")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mode = self.mode()
        if mode == "refuse" or (mode.startswith("refuse-to ") and mode.split()[1] in envelope.rcpt_tos):
            self.write(envelope, "refused")
            return "451 4.3.0 Try again later"
        if mode in {"hang", "hang-deliver"}:
            try:
                while self.mode() == mode:
                    await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                # The sender timed out and closed the connection (aiosmtpd cancels the session). "hang"
                # drops the message; "hang-deliver" does the worst a real server does: delivers what a
                # sender gave up waiting on.
                gone = mode == "hang-deliver"
                self.write(envelope, "accepted" if gone else "abandoned", sender_gone=gone)
                raise
        self.write(envelope, "accepted")
        return "250 2.0.0 Message accepted for delivery"


def main() -> None:
    port, record, mode = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    controller = Controller(
        Recorder(record, mode), hostname="127.0.0.1", port=port, data_size_limit=64 * 1024 * 1024
    )
    controller.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
