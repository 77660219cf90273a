#!/usr/bin/python3
"""SMTP sink for the jobq end-to-end tests.

Listens on 127.0.0.1:PORT and stores every message it receives as one file
DIR/NNNNNN.eml (the DATA bytes as received, after SMTP dot-unstuffing), with
its SMTP envelope beside it in DIR/NNNNNN.json ({"mail_from", "rcpt_tos"}).
It refuses any recipient whose local part is "rejected" for good (550 5.1.1, User
unknown) and any whose local part is "busy" for now (450 4.2.1, Mailbox busy).
The .eml file is renamed into place before the sink answers 250, so once a
client has seen the message accepted, the file is there.

usage: /usr/bin/python3 smtp_sink.py --port PORT --dir DIR
Runs until SIGTERM or SIGINT. Needs only Debian's python3-aiosmtpd.
"""
import argparse
import itertools
import json
import os
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # a mailbox that does not exist, as a real server refuses it (the tests' way to
        # see a rejection): any address whose local part is "rejected"
        if address.lower().startswith("rejected@"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if address.lower().startswith("busy@"):
            return "450 4.2.1 <%s>: Mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.counter)
        base = os.path.join(self.directory, "%06d" % n)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump({"mail_from": envelope.mail_from,
                       "rcpt_tos": list(envelope.rcpt_tos)}, f)
        os.rename(base + ".json.tmp", base + ".json")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(content)
        os.rename(base + ".eml.tmp", base + ".eml")
        print("smtp_sink: stored %s.eml from %s to %s (%d bytes)"
              % (base, envelope.mail_from, ",".join(envelope.rcpt_tos), len(content)),
              flush=True)
        return "250 OK stored"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    # Fail fast if the port is taken (aiosmtpd would only say so after its
    # ready_timeout); the harness then retries on another port.
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", args.port))
    except OSError as e:
        print("smtp_sink: cannot bind 127.0.0.1:%d: %s (address already in use?)"
              % (args.port, e), flush=True)
        return 1

    controller = Controller(Sink(args.dir), hostname="127.0.0.1", port=args.port,
                            decode_data=False, ready_timeout=10.0)
    controller.start()
    print("smtp_sink: listening on 127.0.0.1:%d, storing into %s" % (args.port, args.dir),
          flush=True)
    try:
        # Bounded waits so a signal is noticed promptly.
        while not stop.wait(0.5):
            pass
    finally:
        controller.stop()
        print("smtp_sink: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
