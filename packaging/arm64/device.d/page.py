#!/usr/bin/env python3
"""The hypervisor's side of the vmclock page, for packaging/arm64/device-test.

The guest's `amazon,vmclock` devicetree node points at guest memory that QEMU
backs with a shared host file; this writes the page into that file, live,
under the seqlock protocol (seq_count odd while writing, +2 per update), as a
hypervisor does. The project's own writer (vmclock-sim) cannot do it: it
replaces its file atomically (QEMU keeps the old inode mapped) and times the
host's counter, not the guest's. Layout: /work/shared/reference/vmclock.md
(Linux's vmclock-abi.h).

  page.py marker FILE MARKER
      a page without clock data (counter_id 0xff, status unknown, no flags):
      what QEMU and EC2 give today
  page.py clock FILE COUNTER TIME_NS FREQ_HZ MAXERR_NS RATE_PPB
      clock data for the arm64 virtual counter (counter_id 0): the counter
      reading COUNTER was at UTC TIME_NS (ns since the epoch), the counter
      runs at FREQ_HZ, the time is good to MAXERR_NS and the period to
      RATE_PPB; UTC with tai_offset_sec -37 (UTC - TAI) and TAI_OFFSET_VALID;
      status synchronized. The disruption marker is kept.
  page.py disrupt FILE
      a new disruption marker (the old + 1), as after a migration
  page.py show FILE
      print seq_count and disruption_marker

Every update is one seqlock round: seq_count + 1, the fields, seq_count + 1.
"""
import mmap
import struct
import sys

MAGIC = 0x4B4C4356
PAGE = 4096
FLAG_TAI_OFFSET_VALID = 1 << 0
FLAG_PERIOD_MAXERROR_VALID = 1 << 4
FLAG_TIME_ESTERROR_VALID = 1 << 5
FLAG_TIME_MAXERROR_VALID = 1 << 6
COUNTER_ARM_VCNT = 0
COUNTER_INVALID = 0xFF
STATUS_SYNCHRONIZED = 2
TIME_UTC = 0

# (offset, struct format) of each field the writer sets.
FIELDS = {
    "magic": (0, "<I"), "size": (4, "<I"), "version": (8, "<H"), "counter_id": (10, "<B"),
    "time_type": (11, "<B"), "seq_count": (12, "<I"), "disruption_marker": (16, "<Q"),
    "flags": (24, "<Q"), "clock_status": (34, "<B"), "leap_smearing_hint": (35, "<B"),
    "tai_offset_sec": (36, "<h"), "leap_indicator": (38, "<B"), "counter_period_shift": (39, "<B"),
    "counter_value": (40, "<Q"), "counter_period_frac_sec": (48, "<Q"),
    "counter_period_esterror_rate_frac_sec": (56, "<Q"), "counter_period_maxerror_rate_frac_sec": (64, "<Q"),
    "time_sec": (72, "<Q"), "time_frac_sec": (80, "<Q"), "time_esterror_nanosec": (88, "<Q"),
    "time_maxerror_nanosec": (96, "<Q"), "vm_generation_counter": (104, "<Q"),
}


def get(m, name):
    offset, fmt = FIELDS[name]
    return struct.unpack_from(fmt, m, offset)[0]


def update(m, **values):
    """One seqlock round. x86 stores are not reordered with each other, and
    Python's struct writes go straight to the shared mapping."""
    seq = get(m, "seq_count")
    if seq % 2:
        seq += 1  # a writer died mid-update (never ours): start from even
    struct.pack_into("<I", m, 12, (seq + 1) & 0xFFFFFFFF)
    for name, value in values.items():
        offset, fmt = FIELDS[name]
        struct.pack_into(fmt, m, offset, value)
    struct.pack_into("<I", m, 12, (seq + 2) & 0xFFFFFFFF)


def header(marker):
    return dict(magic=MAGIC, size=PAGE, version=1, disruption_marker=marker)


def marker_page(m, marker):
    m[:PAGE] = bytes(PAGE)
    update(m, **header(marker), counter_id=COUNTER_INVALID, time_type=TIME_UTC, flags=0, clock_status=0)


def period(freq_hz):
    """Seconds per tick in units of 2^-(64+shift): the largest shift that
    keeps the value below 2^64."""
    shift = (freq_hz - 1).bit_length() - 1
    return (2 ** (64 + shift) + freq_hz // 2) // freq_hz, shift


def clock_page(m, counter, time_ns, freq_hz, maxerr_ns, rate_ppb):
    frac, shift = period(freq_hz)
    rate = -(-frac * rate_ppb // 10**9)  # rounded up: a bound
    flags = FLAG_TAI_OFFSET_VALID | FLAG_PERIOD_MAXERROR_VALID | FLAG_TIME_MAXERROR_VALID | FLAG_TIME_ESTERROR_VALID
    update(m, counter_id=COUNTER_ARM_VCNT, time_type=TIME_UTC, flags=flags, clock_status=STATUS_SYNCHRONIZED,
           leap_smearing_hint=0, tai_offset_sec=-37, leap_indicator=0, counter_period_shift=shift,
           counter_value=counter, counter_period_frac_sec=frac, counter_period_esterror_rate_frac_sec=rate,
           counter_period_maxerror_rate_frac_sec=rate, time_sec=time_ns // 10**9,
           time_frac_sec=(time_ns % 10**9) * 2**64 // 10**9, time_esterror_nanosec=maxerr_ns,
           time_maxerror_nanosec=maxerr_ns)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    op, path = argv[1], argv[2]
    with open(path, "r+b") as f:
        m = mmap.mmap(f.fileno(), PAGE)
        try:
            if op == "marker":
                marker_page(m, int(argv[3]))
            elif op == "clock":
                clock_page(m, *(int(a) for a in argv[3:9]))
            elif op == "disrupt":
                update(m, disruption_marker=(get(m, "disruption_marker") + 1) & (2**64 - 1))
            elif op != "show":
                print(__doc__, file=sys.stderr)
                return 2
            print("seq_count=%d disruption_marker=%d" % (get(m, "seq_count"), get(m, "disruption_marker")))
        finally:
            m.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
