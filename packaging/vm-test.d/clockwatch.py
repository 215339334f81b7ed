#!/usr/bin/env python3
"""The host's half of vm-test's clock measurement: asks the guest's clock-probe
EVERY seconds and writes one JSON line per question to OUT:

  {"h1": ns, "h4": ns, "reply": {...}}   or   {"h1": ns, "lost": true}

h1 and h4 are the host's CLOCK_REALTIME right before the question is sent and
right after the answer arrives: the guest read its clock between them, so its
real error at that read is rt - (h1 + h4) / 2 within +-(h4 - h1) / 2.

  clockwatch.py HOST PORT OUT [EVERY [COUNT]]

Runs until SIGTERM (or SIGINT); with COUNT, until the first answer or COUNT
questions. Every wait is bounded (0.3 s per question: a guest that does not answer in time is
paused or moving, and a shorter wait finds it back sooner). Exit status 0 if the
last question was answered.
"""
import json
import signal
import socket
import sys
import time


def main():
    host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    every = float(sys.argv[4]) if len(sys.argv) > 4 else 0.1
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.3)
    n, line = 0, {"lost": True}
    with open(out, "a") as f:
        while not stop and (count == 0 or (n < count and line.get("lost"))):
            n += 1
            token = "q%d" % n
            h1 = time.time_ns()
            line = {"h1": h1, "lost": True}
            try:
                sock.sendto(token.encode(), (host, port))
                while True:  # a late answer to an earlier question is not this one's
                    data = sock.recv(65536)
                    h4 = time.time_ns()
                    reply = json.loads(data)
                    if reply.get("token") == token:
                        line = {"h1": h1, "h4": h4, "reply": reply}
                        break
            except (OSError, ValueError):
                pass  # timed out (the guest paused or moving), or unreachable
            f.write(json.dumps(line) + "\n")
            f.flush()
            rest = every - (time.time_ns() - h1) / 1e9
            if rest > 0 and not stop:
                time.sleep(rest)
    sys.exit(1 if line.get("lost") else 0)


main()
