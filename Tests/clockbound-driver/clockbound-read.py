#!/usr/bin/python3
# Reads a ClockBound segment through the PyPI ClockBound client's public API
# only (`Clockbound(path)`, `.snapshot()`, `.now()`, its error classes) and
# prints one JSON line per read: an application's view of what vmclockd
# publishes, from a client the project did not write. Run by the tests
# (Sources/Harness/PeerHarness/ClockBoundPythonClient.swift, Python 3.13 in
# the root .ci/trixie-chrony makes) and by packaging/vm-test in the guest.
#
# Usage: clockbound-read.py CLIENT_DIR SEGMENT READS SECONDS
# CLIENT_DIR holds the unpacked wheel (its `clockbound` package). Reads READS
# times, or for SECONDS seconds when READS is 0. Each line:
#   {"snapshot": {the client's as_dict()} | null, "snapshot_error": class | null,
#    "earliest": ns | null, "latest": ns | null, "now_error": class | null,
#    "realtime_before", "monotonic_before", "realtime_after", "monotonic_after"}
# with CLOCK_REALTIME and CLOCK_MONOTONIC read right before and right after
# the two calls. A client that cannot open the segment: one line
# {"open_error": class, "message": text}, exit status 3. It writes JSON
# itself: the values are integers, strings and null only.
import sys, time

sys.path.insert(0, sys.argv[1])
from clockbound import Clockbound, ClockboundError


def encode(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(encode(str(k)) + ": " + encode(v) for k, v in value.items()) + "}"
    text = str(value)
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def stamps(suffix):
    return {
        "realtime_" + suffix: time.clock_gettime_ns(time.CLOCK_REALTIME),
        "monotonic_" + suffix: time.clock_gettime_ns(time.CLOCK_MONOTONIC),
    }


def one_read(client):
    line = stamps("before")
    try:
        line["snapshot"] = client.snapshot().as_dict()
        line["snapshot_error"] = None
    except ClockboundError as error:
        line["snapshot"] = None
        line["snapshot_error"] = type(error).__name__
    try:
        bound = client.now()
        line.update(earliest=bound.earliest, latest=bound.latest, now_error=None)
    except ClockboundError as error:
        line.update(earliest=None, latest=None, now_error=type(error).__name__)
    line.update(stamps("after"))
    return line


def main():
    path, reads, seconds = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    try:
        client = Clockbound(path)
    except ClockboundError as error:
        print(encode({"open_error": type(error).__name__, "message": str(error)}), flush=True)
        sys.exit(3)
    end = time.monotonic() + seconds
    done = 0
    while (done < reads) if reads > 0 else (time.monotonic() < end):
        print(encode(one_read(client)), flush=True)
        done += 1


main()
