#!/usr/bin/env python3
"""Draw a timeline written by `rstark prove --timeline FILE.json` as a PNG.

    python3 scripts/timeline_png.py FILE.json OUT.png [--title TEXT] [--from MS] [--to MS]

Rows, top to bottom: the phases of the run (named in the legend); the main thread's spans by nesting depth (the first four levels); each other
host thread (rayon workers); each device stream (kernels coloured by name, the busiest named in
the legend; host->device and device->host copies in their own colours). Needs matplotlib
(`pip install matplotlib`).
"""

import argparse
import collections
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

HOST_PID = 1
MAX_MAIN_DEPTH = 4
TOP_KERNELS = 9
PHASE_COLOURS = plt.get_cmap("tab20").colors
KERNEL_COLOURS = plt.get_cmap("Set1").colors + plt.get_cmap("Dark2").colors
COPY_COLOURS = {"h2d": "#e6550d", "d2h": "#3182bd", "p2p": "#31a354"}
SPAN_COLOUR = "#9e9e9e"


def load(path):
    with open(path) as f:
        t = json.load(f)
    events = t["traceEvents"] if isinstance(t, dict) else t
    spans = [e for e in events if e.get("ph") == "X"]
    names = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") in ("thread_name", "process_name"):
            key = (e["pid"], e["tid"] if e["name"] == "thread_name" else None)
            names[key] = e.get("args", {}).get("name", "")
    return spans, names


def depths(spans):
    """Nesting depth of each span on one track (spans nest: the file format guarantees it)."""
    out, stack = [], []
    for e in sorted(spans, key=lambda e: (e["ts"], -e["dur"])):
        while stack and stack[-1] <= e["ts"]:
            stack.pop()
        out.append((e, len(stack)))
        stack.append(e["ts"] + e["dur"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("timeline")
    ap.add_argument("png")
    ap.add_argument("--title")
    ap.add_argument("--from", dest="t0", type=float, help="start, ms into the recording")
    ap.add_argument("--to", dest="t1", type=float, help="end, ms into the recording")
    ap.add_argument("--width", type=float, default=16.0, help="inches")
    a = ap.parse_args()

    spans, names = load(a.timeline)
    if not spans:
        sys.exit(f"{a.timeline}: no complete events")
    run = next((e for e in spans if e.get("cat") == "run"), None)
    main_tid = run["tid"] if run else 0
    t0 = a.t0 * 1e3 if a.t0 is not None else (run["ts"] if run else min(e["ts"] for e in spans))
    t1 = (
        a.t1 * 1e3
        if a.t1 is not None
        else (run["ts"] + run["dur"] if run else max(e["ts"] + e["dur"] for e in spans))
    )

    def ms(us):
        return (us - t0) / 1e3

    def visible(e):
        return e["ts"] + e["dur"] >= t0 and e["ts"] <= t1

    host = collections.defaultdict(list)
    device = collections.defaultdict(list)
    for e in spans:
        if not visible(e):
            continue
        (host if e["pid"] == HOST_PID else device)[(e["pid"], e["tid"])].append(e)

    # Rows: (label, [(start ms, width ms, colour, text)])
    rows = []
    phase_colour = {}
    phases = [e for e in host.get((HOST_PID, main_tid), []) if e.get("cat") == "phase"]
    bars = []
    for e in sorted(phases, key=lambda e: e["ts"]):
        c = phase_colour.setdefault(e["name"], PHASE_COLOURS[len(phase_colour) % len(PHASE_COLOURS)])
        bars.append((ms(e["ts"]), e["dur"] / 1e3, c, e["name"]))
    rows.append(("phases", bars))

    main_spans = [e for e in host.get((HOST_PID, main_tid), []) if e.get("cat") not in ("phase", "run")]
    by_depth = collections.defaultdict(list)
    for e, d in depths(main_spans):
        if d < MAX_MAIN_DEPTH:
            by_depth[d].append(e)
    main_name = names.get((HOST_PID, main_tid), "main")
    for d in sorted(by_depth):
        bars = [(ms(e["ts"]), e["dur"] / 1e3, SPAN_COLOUR, e["name"]) for e in by_depth[d]]
        rows.append((f"{main_name} [{d}]", bars))
    for (pid, tid), evs in sorted(host.items()):
        if tid == main_tid:
            continue
        bars = [(ms(e["ts"]), e["dur"] / 1e3, SPAN_COLOUR, None) for e in evs]
        rows.append((names.get((pid, tid), f"thread {tid}"), bars))

    kernel_time = collections.Counter()
    for evs in device.values():
        for e in evs:
            if e.get("cat") == "kernel":
                kernel_time[e["name"]] += e["dur"]
    top = [k for k, _ in kernel_time.most_common(TOP_KERNELS)]
    kernel_colour = {k: KERNEL_COLOURS[i % len(KERNEL_COLOURS)] for i, k in enumerate(top)}
    for (pid, tid), evs in sorted(device.items()):
        bars = []
        for e in evs:
            cat = e.get("cat")
            c = COPY_COLOURS.get(cat) or kernel_colour.get(e["name"], "#bdbdbd")
            bars.append((ms(e["ts"]), e["dur"] / 1e3, c, None))
        proc = names.get((pid, None), f"device {pid}")
        rows.append((f"{proc}\n{names.get((pid, tid), f'stream {tid}')}", bars))

    height = 1.0 + 0.42 * len(rows)
    fig, ax = plt.subplots(figsize=(a.width, height))
    span_ms = (t1 - t0) / 1e3
    for i, (label, bars) in enumerate(reversed(rows)):
        y = i
        for x, w, c, text in bars:
            ax.broken_barh([(x, max(w, span_ms * 1e-4))], (y + 0.1, 0.8), facecolors=c, edgecolors="none")
            if text and w > span_ms * 0.04:
                ax.text(x + w / 2, y + 0.5, text, ha="center", va="center", fontsize=7, clip_on=True)
    ax.set_yticks([i + 0.5 for i in range(len(rows))])
    ax.set_yticklabels([r[0] for r in reversed(rows)], fontsize=8)
    ax.set_xlim(ms(t0), ms(t1))
    ax.set_ylim(0, len(rows))
    ax.set_xlabel("ms")
    ax.grid(axis="x", linewidth=0.3)
    title = a.title or (run["name"] if run else a.timeline)
    ax.set_title(f"{title}  ({span_ms:.1f} ms)", fontsize=10)
    legend = [Patch(color=c, label=k) for k, c in phase_colour.items()]
    legend += [Patch(color=c, label=f"kernel {k}") for k, c in kernel_colour.items()]
    if any(e.get("cat") == "h2d" for evs in device.values() for e in evs):
        legend.append(Patch(color=COPY_COLOURS["h2d"], label="host→device copy"))
    if any(e.get("cat") == "d2h" for evs in device.values() for e in evs):
        legend.append(Patch(color=COPY_COLOURS["d2h"], label="device→host copy"))
    if any(e.get("cat") == "p2p" for evs in device.values() for e in evs):
        legend.append(Patch(color=COPY_COLOURS["p2p"], label="device→device copy"))
    if legend:
        ax.legend(handles=legend, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(a.png, dpi=110)


if __name__ == "__main__":
    main()
