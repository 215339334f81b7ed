#!/usr/bin/env python3
"""What vm-test's clock measurement shows, from clockwatch.py's series.

  clockreport.py check LABEL SERIES JOURNAL RESUME LOOK SLACK OUT
      LABEL    the migration's name, SERIES clockwatch's lines, JOURNAL vmclockd's
      entries since before the migration (journalctl -o json), RESUME the host
      time the guest resumed (s), LOOK the daemon's look interval (s), SLACK
      the emulator's allowance (s). Prints "PASS|FAIL name -- evidence" and
      "FIGURE name -- value" lines; writes the judged series to OUT (JSON).
  clockreport.py settled SERIES SINCE
      exit 0 if the last answer, after host time SINCE (s), has the segment
      Synchronized under the device's marker, the kernel synchronised and the
      guest's error within 10 ms (beyond the measurement's uncertainty)
  clockreport.py summary OUT...   medians over judged series (the long mode)
  clockreport.py plot PNG OUT...  one panel per judged series

Every instant is judged on the host's bracket: the guest read its clock
between h1 and h4, so its true error e lies in [rt - h4, rt - h1]. A claim of
bound b about a reading c is wrong only if no true time in [h1, h4] is within
b of c: it is never called wrong on a measurement's uncertainty.
"""
import json
import statistics
import sys

DISRUPTION_ID = "3a55088562bf4d02a70bb55342e57238"
RESET_ID = "7698050e36c24cb09334a66f975fa934"
SYNCED_LEAPS = ("Normal", "Insert second", "Delete second")
SEGMENT_SYNCHRONIZED = 1
TIME_ERROR = 5
# chronyc under emulation takes a few hundred ms: a tracking report older
# than this at a read is not what a ClockBound daemon (polling every 100 ms)
# would have had then, and is left out of the comparison.
FRESH_NS = 1_000_000_000


def wrong(center_ns, bound_ns, h1, h4):
    """A claim [center - bound, center + bound] that misses every true time in [h1, h4]."""
    return center_ns + bound_ns < h1 or center_ns - bound_ns > h4


def entry_times(journal_path):
    """(guest monotonic ns, guest realtime ns) of the first disruption entry and the first acknowledged reset after it."""
    disruption = reset = None
    for line in open(journal_path):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        stamp = (int(entry["__MONOTONIC_TIMESTAMP"]) * 1000, int(entry["__REALTIME_TIMESTAMP"]) * 1000)
        if entry.get("MESSAGE_ID") == DISRUPTION_ID and disruption is None:
            disruption = stamp
        elif entry.get("MESSAGE_ID") == RESET_ID and disruption is not None and reset is None:
            reset = stamp
    return disruption, reset


def formula_bound_ns(trk, at_mono):
    """ClockBound's chrony-derived bound (root delay / 2 + root dispersion + |system time|), grown
    from the report to the instant as its clients grow it, at chronyd's own rate (skew + |residual
    frequency| + 1 ppm), the same rate vmclockd writes; None where chronyd claims nothing."""
    if not trk or trk.get("leap") not in SYNCED_LEAPS:
        return None
    base = trk["root_delay"] / 2 + trk["root_dispersion"] + abs(trk["system_time"])
    rate = (trk["skew"] + abs(trk["residual_freq"]) + 1.0) * 1e-6
    return int((base + max(0, at_mono - trk["mono"]) * 1e-9 * rate) * 1e9) + 1


def judge(samples, disruption, reset):
    """Each answered sample with what each interface claimed and whether it was wrong."""
    rows = []
    for s in samples:
        if s.get("lost"):
            continue
        r, h1, h4 = s["reply"], s["h1"], s["h4"]
        adj, seg, trk = r["adj"], r["seg"], r.get("trk") or {}
        fresh = "mono" in trk and r["mono"] - trk["mono"] <= FRESH_NS
        row = {"h1": h1, "h4": h4, "mono": r["mono"], "error_ns": r["rt"] - (h1 + h4) // 2, "u_ns": (h4 - h1 + 1) // 2,
               "seg_status": seg.get("status"), "seg_marker": seg.get("seg_marker"), "marker": r.get("marker"),
               "daemon": (r.get("daemon") or {}).get("state"), "trk_leap": trk.get("leap") if fresh else None,
               "trk_after_reset": fresh and reset is not None and trk["mono"] > reset[0]}
        row["after_entry"] = disruption is not None and r["mono"] > disruption[0]
        row["after_reset"] = reset is not None and r["mono"] > reset[0]
        # The kernel: a claim unless STA_UNSYNC or TIME_ERROR.
        if not adj["unsync"] and adj["state"] != TIME_ERROR:
            row["kernel_bound_ns"] = adj["maxerror_us"] * 1000
            row["kernel_wrong"] = wrong(adj["clock_ns"], row["kernel_bound_ns"], h1, h4)
        # The segment as the PyPI client reads it (it ignores the device).
        if seg.get("earliest") is not None:
            half = (seg["latest"] - seg["earliest"]) // 2
            row["pypi_bound_ns"] = half
            row["pypi_wrong"] = wrong(seg["earliest"] + half, half, h1, h4)
            # As the Rust and C clients read it: a claim only under the device's marker.
            row["stale_marker"] = seg.get("seg_marker") != r.get("marker")
        bound = formula_bound_ns(trk, r["mono"]) if fresh else None
        if bound is not None:
            row["formula_bound_ns"] = bound
            row["formula_wrong"] = wrong(r["rt"], bound, h1, h4)
        rows.append(row)
    return rows


def tracking_reports(samples):
    """Every distinct tracking report the probe took, as (guest monotonic, leap), in order."""
    seen = {}
    for s in samples:
        trk = {} if s.get("lost") else (s["reply"].get("trk") or {})
        if "mono" in trk and "leap" in trk:
            seen[trk["mono"]] = trk["leap"]
    return sorted(seen.items())


def to_host(after, mono):
    """Host time of a guest CLOCK_MONOTONIC instant after the resume, by the
    answers nearest it: the guest's monotonic clock does not count the time
    it was stopped, and chronyd slews it with the realtime clock, so one
    offset for the whole series would not do. The best-bracketed of the
    three nearest answers."""
    nearest = sorted(after, key=lambda r: abs(r["mono"] - mono))[:3]
    best = min(nearest, key=lambda r: r["u_ns"])
    return (best["h1"] + best["h4"]) // 2 - best["mono"] + mono


def window(rows, key, resume_ns):
    """(count, first s, last s after the resume) of the wrong claims after the resume."""
    hits = [r for r in rows if r.get(key) and r["h1"] > resume_ns]
    if not hits:
        return 0, None, None
    return len(hits), (hits[0]["h1"] - resume_ns) / 1e9, (hits[-1]["h4"] - resume_ns) / 1e9


def check(label, name, ok, evidence):
    print("%s %s: %s -- %s" % ("PASS" if ok else "FAIL", label, name, evidence))


def figure(label, name, value):
    print("FIGURE %s: %s -- %s" % (label, name, value))


def ms(seconds):
    return "n/a" if seconds is None else "%.0f ms" % (seconds * 1000)


def command_check(label, series, journal, resume_s, look, slack, out):
    look, slack = float(look), float(slack)
    samples = [json.loads(line) for line in open(series) if line.strip()]
    disruption, reset = entry_times(journal)
    resume_ns = int(float(resume_s) * 1e9)
    rows = judge(samples, disruption, reset)
    after = [r for r in rows if r["h1"] > resume_ns]
    before = [r for r in rows if r["h4"] < resume_ns]
    check(label, "the guest's clock was measured before and after the resume",
          len(before) > 0 and len(after) > 0,
          "%d answered before, %d after, %d unanswered; bracket median +-%.2f ms" % (
              len(before), len(after), sum(1 for s in samples if s.get("lost")),
              statistics.median([r["u_ns"] for r in rows]) / 1e6 if rows else 0))
    check(label, "the daemon logged the disruption and chronyd acknowledged its reset", disruption and reset,
          "entries at guest monotonic %s and %s" % (disruption and disruption[0], reset and reset[0]))
    if not (disruption and reset and before and after):
        return
    entry_s = (to_host(after, disruption[0]) - resume_ns) / 1e9
    reset_s = (to_host(after, reset[0]) - resume_ns) / 1e9
    # chronyd's first update after the reset, as the kernel shows it (only
    # chronyd clears STA_UNSYNC; sampled ten times a second, where chronyc's
    # reports come a few hundred ms apart under emulation).
    resync = next((r for r in after if r["after_reset"] and "kernel_bound_ns" in r), None)
    back = next((r for r in after if r["after_reset"] and r["seg_status"] == SEGMENT_SYNCHRONIZED), None)
    errors = [abs(r["error_ns"]) for r in after[:5]]
    figure(label, "error right after the resume", "%.1f ms (+-%.1f ms)" % (
        statistics.median(errors) / 1e6, statistics.median([r["u_ns"] for r in after[:5]]) / 1e6))
    figure(label, "resume -> disruption entry", ms(entry_s))
    figure(label, "resume -> reset acknowledged", ms(reset_s))
    figure(label, "resume -> chronyd synchronised again", ms(resync and (resync["h1"] - resume_ns) / 1e9))
    figure(label, "resume -> segment Synchronized again", ms(back and (back["h1"] - resume_ns) / 1e9))

    # 1. The segment, under the device's marker: never a claim below the error.
    current = [r for r in rows if "pypi_wrong" in r and not r["stale_marker"]]
    bad = [r for r in current if r["pypi_wrong"]]
    check(label, "segment: no claim under the device's marker is below the measured error", not bad,
          "%d claims, %d wrong%s" % (len(current), len(bad), "" if not bad else "; first %s after the resume: bound %.3f ms, error %.3f +-%.3f ms" % (
              ms((bad[0]["h1"] - resume_ns) / 1e9), bad[0]["pypi_bound_ns"] / 1e6, bad[0]["error_ns"] / 1e6, bad[0]["u_ns"] / 1e6)))
    # 2. Under the old marker (what the PyPI client, which ignores the device,
    #    still takes): only before the daemon's look, which comes within one
    #    look interval (plus the emulator's slack) of the resume.
    stale = [r for r in after if r.get("stale_marker") and r["seg_status"] == SEGMENT_SYNCHRONIZED]
    late = [r for r in stale if r["after_entry"]]
    check(label, "segment: Synchronized under the old marker only until the daemon's look", not late,
          "%d stale reads after the resume, %d of them after the disruption entry" % (len(stale), len(late)))
    check(label, "segment: left Synchronized within one look (%.0f ms) + %.1f s of the resume" % (look * 1000, slack),
          entry_s <= look + slack, "disruption entry %s after the resume" % ms(entry_s))
    # 3. The kernel: unsynchronised from chronyd's reset until chronyd has a
    #    reference again, and no claim below the error after the reset.
    # Only chronyd clears STA_UNSYNC: a kernel claim while chronyd was not
    # synchronised shows as a claim followed by a report that says so.
    reports = tracking_reports(samples)
    early = [r for r in after if r["after_reset"] and "kernel_bound_ns" in r
             and next((leap for mono, leap in reports if mono > r["mono"]), "Normal") not in SYNCED_LEAPS]
    unsynced = sum(1 for r in after if r["after_reset"] and "kernel_bound_ns" not in r)
    check(label, "ntp_adjtime: no synchronised claim after the reset before chronyd synchronised again", not early and resync is not None,
          "%d unsynchronised reads after the reset; %d synchronised ones while chronyd was not" % (unsynced, len(early)))
    kernel = [r for r in after if r["after_reset"] and "kernel_bound_ns" in r]
    kbad = [r for r in kernel if r["kernel_wrong"]]
    figure(label, "ntp_adjtime after the reset: claims below the measured error", "%d of %d%s" % (
        len(kbad), len(kernel), "" if not kbad else " (first %s after the resume: maxerror %.3f ms, error %.3f +-%.3f ms)" % (
            ms((kbad[0]["h1"] - resume_ns) / 1e9), kbad[0]["kernel_bound_ns"] / 1e6, kbad[0]["error_ns"] / 1e6, kbad[0]["u_ns"] / 1e6)))
    # Before the first answer after the resume nothing was read: what the
    # interfaces said there is what they said before the migration, until
    # the daemon's look (the segment) and chronyd's reset (the kernel), while
    # the clock was already as far off as the first answers show (nothing
    # corrects it before chronyd is synchronised again).
    first = min(after[:3], key=lambda r: r["u_ns"])  # the best-bracketed of the first answers
    last_kernel = next((r["kernel_bound_ns"] for r in reversed(before) if "kernel_bound_ns" in r), None)
    last_segment = next((r["pypi_bound_ns"] for r in reversed(before) if "pypi_bound_ns" in r), None)
    error_then = "error %.1f ms (+-%.1f) at one of the first answers, %s after the resume" % (
        abs(first["error_ns"]) / 1e6, first["u_ns"] / 1e6, ms((first["h1"] - resume_ns) / 1e9))
    if last_kernel is not None:
        figure(label, "unsampled: ntp_adjtime kept its pre-migration claim until chronyd's reset",
               "at most %s, maxerror %.3f ms; %s" % (ms(reset_s), last_kernel / 1e6, error_then))
    if last_segment is not None:
        figure(label, "unsampled: the segment, read without the device, until the daemon's look",
               "at most %s, bound %.3f ms (a client that compares the device's marker: none); %s" % (ms(entry_s), last_segment / 1e6, error_then))
    # The windows in which each interface was confidently wrong.
    for key, what in (("kernel_wrong", "ntp_adjtime"), ("pypi_wrong", "segment via the PyPI client (ignores the device)"),
                      ("formula_wrong", "ClockBound's chrony formula")):
        n, lo, hi = window(rows, key, resume_ns)
        figure(label, "confident but wrong, in the answered reads: " + what,
               "%d reads, %s .. %s after the resume" % (n, ms(lo), ms(hi)) if n else "none")
    json.dump({"label": label, "resume_ns": resume_ns, "entry_s": entry_s, "reset_s": reset_s,
               "resync_s": resync and (resync["h1"] - resume_ns) / 1e9, "back_s": back and (back["h1"] - resume_ns) / 1e9,
               "rows": rows}, open(out, "w"))


def command_settled(series, since_s):
    last = None
    for line in open(series):
        try:
            sample = json.loads(line)
        except ValueError:
            continue
        if not sample.get("lost") and sample["h1"] > float(since_s) * 1e9:
            last = sample
    if last is None:
        return 1
    r = last["reply"]
    seg, adj = r["seg"], r["adj"]
    error = abs(r["rt"] - (last["h1"] + last["h4"]) // 2) - (last["h4"] - last["h1"]) // 2
    ok = seg.get("status") == SEGMENT_SYNCHRONIZED and seg.get("seg_marker") == r.get("marker") and not adj["unsync"] and error < 10_000_000
    return 0 if ok else 1


def command_summary(paths):
    runs = [json.load(open(p)) for p in paths]
    by_kind = {}
    for run in runs:
        by_kind.setdefault(run["label"].split(" ")[0], []).append(run)
    for kind, group in sorted(by_kind.items()):
        def med(key):
            values = [g[key] for g in group if g.get(key) is not None]
            return ("%.0f ms" % (statistics.median(values) * 1000)) if values else "n/a"
        print("%s migrations (%d): median resume -> entry %s, -> reset acknowledged %s, -> chronyd synchronised %s, -> segment Synchronized %s" % (
            kind, len(group), med("entry_s"), med("reset_s"), med("resync_s"), med("back_s")))


def command_plot(png, paths):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    floor = 0.01  # ms: the measurement cannot see below its uncertainty anyway
    runs = [json.load(open(p)) for p in paths]
    fig, axes = plt.subplots(len(runs), 1, figsize=(10, 4.4 * len(runs)), squeeze=False)
    for ax, run in zip(axes[:, 0], runs):
        rows, resume = run["rows"], run["resume_ns"]
        t, err, lo, hi = [], [], [], []
        for r in rows:  # a gap of unanswered questions breaks the lines
            now = (r["h1"] + r["h4"]) / 2e9 - resume / 1e9
            if t and t[-1] == t[-1] and now - t[-1] > 0.5:
                t.append(float("nan")); err.append(float("nan")); lo.append(float("nan")); hi.append(float("nan"))
            t.append(now)
            err.append(max(abs(r["error_ns"]) / 1e6, floor))
            lo.append(max((abs(r["error_ns"]) - r["u_ns"]) / 1e6, floor))
            hi.append(max((abs(r["error_ns"]) + r["u_ns"]) / 1e6, floor))
        ax.fill_between(t, lo, hi, color="0.85", label="true error: the host's bracket of each read")
        ax.plot(t, err, color="k", lw=1, label="true error |guest - host|, measured from the host")
        moments = [(r["h1"] + r["h4"]) / 2e9 - resume / 1e9 for r in rows]
        for key, colour, marker, name in (
                ("pypi_bound_ns", "tab:green", "o", "segment's bound, as the PyPI ClockBound client reads it"),
                ("kernel_bound_ns", "tab:red", "x", "ntp_adjtime() maxerror, while it says synchronised"),
                ("formula_bound_ns", "tab:blue", "+", "ClockBound's chrony formula, same tracking reports")):
            x = [m for m, r in zip(moments, rows) if r.get(key) is not None]
            y = [max(r[key] / 1e6, floor) for r in rows if r.get(key) is not None]
            ax.plot(x, y, marker, ms=3, color=colour, ls="none", label=name)
        events = ((0, "guest resumed", "-"), (run["entry_s"], "vmclockd saw it", "--"),
                  (run["reset_s"], "chronyd reset", ":"), (run.get("resync_s"), "chronyd synchronised", "-."))
        for n, (at, name, style) in enumerate(events):
            if at is not None:  # staggered: on a long axis the four are close together
                ax.axvline(at, color="0.35", ls=style, lw=1)
                ax.text(at, 1.01 + 0.06 * n, " " + name, transform=ax.get_xaxis_transform(), fontsize=7, va="bottom")
        colours = {1: "tab:green", 3: "tab:orange", 0: "0.6", 2: "tab:purple"}
        for m, r in zip(moments, rows):
            if r.get("seg_status") in colours:
                ax.axvspan(m - 0.05, m + 0.05, ymin=0, ymax=0.035, color=colours[r["seg_status"]], lw=0)
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor / 2)
        ax.set_xlabel("s after the guest resumed (host clock).  Strip: the segment says "
                      "synchronized (green), disrupted (orange), unknown (grey)", fontsize=8)
        ax.set_ylabel("ms (log)")
        ax.set_title(run["label"], pad=40, fontsize=10, loc="left")
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    print("%d panel(s)" % len(runs))


def main():
    command = sys.argv[1]
    if command == "check":
        command_check(*sys.argv[2:9])
    elif command == "settled":
        sys.exit(command_settled(sys.argv[2], sys.argv[3]))
    elif command == "summary":
        command_summary(sys.argv[2:])
    elif command == "plot":
        command_plot(sys.argv[2], sys.argv[3:])
    else:
        sys.exit("unknown command: " + command)


main()
