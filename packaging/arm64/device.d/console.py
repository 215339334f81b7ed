#!/usr/bin/env python3
"""The host's side of the guest's serial-port server (device.d/init), for
packaging/arm64/device-test. SOCK is the QEMU chardev socket of the guest's
second serial port; one client at a time, each call connects afresh.

  console.py wait SOCK TIMEOUT           until the guest answers (boot)
  console.py run SOCK TIMEOUT COMMAND    run COMMAND (sh -c) in the guest;
      its output goes to ours, its exit status becomes ours (124: no answer)
  console.py run-bracketed SOCK TIMEOUT COMMAND
      as run, and then one more line: "bracket T1 T2", the host's
      CLOCK_REALTIME (ns) just before sending and just after the answer
  console.py calibrate SOCK ROUNDS
      the guest's counter against the host's clock: ROUNDS exchanges with the
      guest's cntecho; prints "freq F", every round as "round C T1 T2" and
      the narrowest as "best C T1 T2" (counter C was read between host
      CLOCK_REALTIME T1 and T2, ns)

Only the standard library; every wait is bounded.
"""
import base64
import socket
import sys
import time

PORT = "/dev/ttyAMA1"


class Port:
    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.deadline = time.monotonic() + timeout
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from the guest")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the guest's port closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def close(self):
        self.sock.close()


def request(port, command):
    """Sends COMMAND; returns its id. Ids are unique per call, so an answer
    left over from an earlier, timed-out request is never taken for ours."""
    ident = "%d" % time.time_ns()
    port.send(b"\n" + ident.encode() + b" " + base64.b64encode(command.encode()) + b"\n")
    return ident


def parse_answer(line, ident):
    """(exit status, output) if LINE is the answer to request IDENT, else None."""
    fields = line.split(" ")
    if len(fields) >= 3 and fields[0] == "@@" and fields[1] == ident:
        return int(fields[2]), base64.b64decode(fields[3]) if len(fields) > 3 else b""
    return None


def answer(port, ident):
    while True:
        parsed = parse_answer(port.line(), ident)
        if parsed:
            return parsed


def run(sock, timeout, command, bracketed=False):
    try:
        port = Port(sock, timeout)
    except OSError as e:
        print("console: %s: %s" % (sock, e), file=sys.stderr)
        return 124
    try:
        t1 = time.time_ns()
        rc, output = answer(port, request(port, command))
        t2 = time.time_ns()
    except (TimeoutError, OSError) as e:
        print("console: %s: %s" % (command, e), file=sys.stderr)
        return 124
    finally:
        port.close()
    sys.stdout.buffer.write(output + (b"\n" if output and not output.endswith(b"\n") else b""))
    if bracketed:
        print("bracket %d %d" % (t1, t2))
    return rc


def wait(sock, timeout):
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            port = Port(sock, 3)
            try:
                answer(port, request(port, "true"))
                return 0
            finally:
                port.close()
        except (TimeoutError, OSError) as e:
            last = str(e)
            time.sleep(0.5)
    print("console: the guest did not answer in %ss (%s)" % (timeout, last), file=sys.stderr)
    return 1


def cntecho_failed(rc, output):
    print("console: cntecho: exit %d: %s" % (rc, output.decode(errors="replace")), file=sys.stderr)
    return 1


def calibrate(sock, rounds):
    try:
        port = Port(sock, 60 + rounds)
    except OSError as e:
        print("console: %s: %s" % (sock, e), file=sys.stderr)
        return 1
    try:
        ident = request(port, "cntecho %s %d" % (PORT, rounds))
        line = port.line()
        while not line.startswith("cntfrq "):
            ended = parse_answer(line, ident)
            if ended:  # cntecho failed before it began
                return cntecho_failed(*ended)
            line = port.line()
        print("freq %s" % line.split()[1])
        best = None
        for _ in range(rounds):
            t1 = time.time_ns()
            port.send(b"x")
            line = port.line()
            t2 = time.time_ns()
            counter = int(line.split()[1])
            print("round %d %d %d" % (counter, t1, t2))
            if best is None or t2 - t1 < best[2] - best[1]:
                best = (counter, t1, t2)
        rc, output = answer(port, ident)
        if rc != 0:
            return cntecho_failed(rc, output)
        print("best %d %d %d" % best)
        return 0
    except (TimeoutError, OSError, ValueError, IndexError) as e:
        print("console: calibrate: %s" % e, file=sys.stderr)
        return 1
    finally:
        port.close()


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    op, sock = argv[1], argv[2]
    if op == "wait":
        return wait(sock, float(argv[3]))
    if op in ("run", "run-bracketed") and len(argv) == 5:
        return run(sock, float(argv[3]), argv[4], bracketed=op == "run-bracketed")
    if op == "calibrate":
        return calibrate(sock, int(argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
