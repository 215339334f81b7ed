#!/usr/bin/env python3
"""Small QMP / QEMU guest agent client for packaging/vm-test.

  vmctl.py qmp SOCK COMMAND [ARGUMENTS-JSON]    print the command's "return" as JSON
  vmctl.py wait-status SOCK STATUS TIMEOUT       wait until query-status says STATUS
  vmctl.py wait-migrate SOCK TIMEOUT             wait until query-migrate is completed
  vmctl.py qga-ping SOCK TIMEOUT                 wait until the guest agent answers
  vmctl.py qga-exec SOCK TIMEOUT PROGRAM [ARG...]
      run PROGRAM in the guest; its stdout and stderr go to ours, its exit
      code becomes ours (124 on timeout, 125 when the agent fails)
  vmctl.py qga-put SOCK LOCAL REMOTE             copy a host file into the guest
  vmctl.py qga SOCK COMMAND [ARGUMENTS-JSON]     any guest agent command
  vmctl.py wait-resume SOCK TIMEOUT [COMMAND]    (run COMMAND, then) wait for QEMU's
      RESUME event; print its host timestamp (seconds since the epoch)
  vmctl.py guest-uptime SOCK                     print "H0 UPTIME H1": the guest's
      /proc/uptime, read between host times H0 and H1

Only the standard library; every wait is bounded.
"""
import base64
import json
import socket
import sys
import time


class Channel:
    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send(self, obj, prefix=b""):
        self.sock.sendall(prefix + json.dumps(obj).encode() + b"\n")

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("channel closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.strip(b"\xff \r")

    def message(self):
        while True:
            line = self.line()
            if line:
                try:
                    return json.loads(line)
                except ValueError:
                    continue  # a partial line left over from an earlier client

    def close(self):
        self.sock.close()


# --- QMP ---------------------------------------------------------------------

def qmp_open(path, timeout=30):
    ch = Channel(path, timeout)
    try:
        ch.message()  # greeting
        qmp_call(ch, "qmp_capabilities")
    except BaseException:
        ch.close()  # one client at a time: never leave a connection behind
        raise
    return ch


def qmp_call(ch, command, arguments=None):
    msg = {"execute": command}
    if arguments is not None:
        msg["arguments"] = arguments
    ch.send(msg)
    while True:
        reply = ch.message()
        if "event" in reply:
            continue
        if "error" in reply:
            raise RuntimeError("%s: %s" % (command, reply["error"].get("desc", reply["error"])))
        return reply.get("return")


def qmp_once(path, command, arguments=None):
    ch = qmp_open(path)
    try:
        return qmp_call(ch, command, arguments)
    finally:
        ch.close()


def wait_status(path, status, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = qmp_once(path, "query-status").get("status")
            if last == status:
                return 0
        except (OSError, ConnectionError, RuntimeError) as e:
            last = str(e)
        time.sleep(0.2)
    print("status is %s, not %s, after %ss" % (last, status, timeout), file=sys.stderr)
    return 1


def wait_migrate(path, timeout):
    deadline = time.monotonic() + timeout
    info = {}
    while time.monotonic() < deadline:
        info = qmp_once(path, "query-migrate")
        status = info.get("status")
        if status == "completed":
            print(json.dumps(info))
            return 0
        if status in ("failed", "cancelled"):
            print(json.dumps(info))
            return 1
        time.sleep(0.2)
    print(json.dumps(info))
    return 1


def wait_resume(path, timeout, command=None):
    """One connection for both: QMP serves one client at a time, so the
    command and the event it causes must share it."""
    ch = qmp_open(path, timeout)
    try:
        if command:
            ch.send({"execute": command})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = ch.message()
            if msg.get("event") == "RESUME":
                stamp = msg["timestamp"]
                print("%d.%06d" % (stamp["seconds"], stamp["microseconds"]))
                return 0
            if "error" in msg:
                raise RuntimeError("%s: %s" % (command, msg["error"].get("desc")))
    finally:
        ch.close()
    print("no RESUME event in %ss" % timeout, file=sys.stderr)
    return 1


# --- guest agent --------------------------------------------------------------

def qga_open(path, timeout):
    """Connects and synchronises (guest-sync-delimited): returns a channel or raises."""
    ch = Channel(path, timeout)
    token = int(time.time() * 1000) % 2**31
    try:
        ch.send({"execute": "guest-sync-delimited", "arguments": {"id": token}}, prefix=b"\xff")
        while True:
            reply = ch.message()
            if reply.get("return") == token:
                return ch
    except BaseException:
        # QEMU's socket chardev serves one client at a time: a connection
        # left open would take the agent's answers meant for the next one.
        ch.close()
        raise


def qga_call(ch, command, arguments=None):
    msg = {"execute": command}
    if arguments is not None:
        msg["arguments"] = arguments
    ch.send(msg)
    reply = ch.message()
    if "error" in reply:
        raise RuntimeError("%s: %s" % (command, reply["error"].get("desc", reply["error"])))
    return reply.get("return")


def qga_ping(path, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            ch = qga_open(path, 5)
            try:
                qga_call(ch, "guest-ping")
            finally:
                ch.close()
            return 0
        except (OSError, ConnectionError, RuntimeError) as e:
            last = str(e) or type(e).__name__
            time.sleep(1)
    print("guest agent did not answer in %ss (%s)" % (timeout, last), file=sys.stderr)
    return 1


def qga_exec(path, timeout, argv):
    try:
        ch = qga_open(path, 30)
        pid = qga_call(ch, "guest-exec", {"path": argv[0], "arg": argv[1:], "capture-output": True})["pid"]
        deadline = time.monotonic() + timeout
        while True:
            st = qga_call(ch, "guest-exec-status", {"pid": pid})
            if st.get("exited"):
                break
            if time.monotonic() > deadline:
                print("guest-exec %s: no exit after %ss" % (argv, timeout), file=sys.stderr)
                return 124
            time.sleep(0.3)
        ch.close()
    except (OSError, ConnectionError, RuntimeError) as e:
        print("guest-exec %s: %s" % (argv, e), file=sys.stderr)
        return 125
    sys.stdout.buffer.write(base64.b64decode(st.get("out-data", "")))
    sys.stderr.buffer.write(base64.b64decode(st.get("err-data", "")))
    if st.get("out-truncated") or st.get("err-truncated"):
        print("(guest output truncated)", file=sys.stderr)
    if "signal" in st:
        return 128 + st["signal"]
    return st.get("exitcode", 125)


def guest_uptime(path):
    ch = qga_open(path, 30)
    try:
        before = time.time()
        pid = qga_call(ch, "guest-exec", {"path": "/bin/cat", "arg": ["/proc/uptime"], "capture-output": True})["pid"]
        while True:
            st = qga_call(ch, "guest-exec-status", {"pid": pid})
            if st.get("exited"):
                break
            time.sleep(0.01)
        after = time.time()
    finally:
        ch.close()
    uptime = base64.b64decode(st.get("out-data", "")).decode().split()[0]
    print("%.6f %s %.6f" % (before, uptime, after))
    return 0


def qga_put(path, local, remote):
    ch = qga_open(path, 30)
    handle = qga_call(ch, "guest-file-open", {"path": remote, "mode": "w"})
    with open(local, "rb") as f:
        while True:
            chunk = f.read(48 * 1024)
            if not chunk:
                break
            qga_call(ch, "guest-file-write", {"handle": handle, "buf-b64": base64.b64encode(chunk).decode()})
    qga_call(ch, "guest-file-close", {"handle": handle})
    ch.close()
    return 0


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    op, sock = argv[1], argv[2]
    if op == "qmp":
        args = json.loads(argv[4]) if len(argv) > 4 else None
        print(json.dumps(qmp_once(sock, argv[3], args)))
        return 0
    if op == "wait-status":
        return wait_status(sock, argv[3], float(argv[4]))
    if op == "wait-migrate":
        return wait_migrate(sock, float(argv[3]))
    if op == "qga-ping":
        return qga_ping(sock, float(argv[3]))
    if op == "qga-exec":
        return qga_exec(sock, float(argv[3]), argv[4:])
    if op == "qga-put":
        return qga_put(sock, argv[3], argv[4])
    if op == "wait-resume":
        return wait_resume(sock, float(argv[3]), argv[4] if len(argv) > 4 else None)
    if op == "guest-uptime":
        return guest_uptime(sock)
    if op == "qga":
        args = json.loads(argv[4]) if len(argv) > 4 else None
        ch = qga_open(sock, 30)
        if argv[3] == "guest-shutdown":
            ch.send({"execute": "guest-shutdown"})  # answered by powering off, never by a reply
            ch.close()
            return 0
        print(json.dumps(qga_call(ch, argv[3], args)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ConnectionError, RuntimeError) as e:
        print("vmctl: %s" % e, file=sys.stderr)
        sys.exit(1)
