"""Markdown tables (as in docs/benchmarks.md) from pytest-benchmark JSON records:

- ``bench_fft.py``: per N and thread count, each implementation's time and rae_fast's ratios
  (peer time / rae_fast time) against scipy.fft and torch.fft, with the goal (>= 1.5x scipy,
  >= 1.0x torch) marked per row;
- ``bench_pipelines.py``: 1- and 2-thread times per pipeline and the scaling (goal >= 1.7x);
- ``bench_logmel.py`` / ``bench_autocorr.py``: rae_fast against the best torch variant
  (goals >= 6x and >= 3x) and the other peers.

    python benchmarks/tables.py fft.json [pipelines.json ...] [--stat min|median]
"""
import argparse
import json
from collections import defaultdict


def _load(paths, stat):
    rows = []
    for p in paths:
        data = json.load(open(p))
        machine = data.get("machine_info", {})
        for b in data["benchmarks"]:
            info = dict(b.get("extra_info", {}))
            info.setdefault("peer", b["name"])
            info["group"] = b["group"] or ""
            info["t"] = b["stats"][stat]
            rows.append(info)
        print(f"<!-- {p}: {machine.get('cpu', {}).get('brand_raw', '?')}, "
              f"{data.get('datetime', '?')} -->")
    return rows


def _ms(t):
    return "-" if t is None else f"{t * 1e3:.3f} ms" if t < 0.01 else f"{t * 1e3:.2f} ms" if t < 1 else f"{t:.3f} s"


def _ratio(peer, ours):
    return "-" if peer is None or ours is None else f"{peer / ours:.2f}x"


def fft_table(rows):
    by = defaultdict(dict)
    for r in rows:
        if r.get("suite") == "fft" or r["group"].startswith("rfft "):
            by[(int(r["n"]), int(r["threads"]))][r["peer"]] = r["t"]
    if not by:
        return
    print("\n| N | threads | rae_fast | rae_fast `out=` | scipy.fft | numpy.fft | torch.fft (MKL) "
          "| vs scipy | vs torch | goal |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    met = 0
    for (n, t) in sorted(by):
        d = by[(n, t)]
        ours = d.get("rae_fast")
        ok = (ours is not None and d.get("scipy") is not None and d.get("torch") is not None
              and d["scipy"] / ours >= 1.5 and d["torch"] / ours >= 1.0)
        met += ok
        print(f"| {n} | {t} | {_ms(ours)} | {_ms(d.get('rae_fast-out'))} | {_ms(d.get('scipy'))} "
              f"| {_ms(d.get('numpy'))} | {_ms(d.get('torch'))} | {_ratio(d.get('scipy'), ours)} "
              f"| {_ratio(d.get('torch'), ours)} | {'met' if ok else 'NOT met'} |")
    print(f"\n{met} of {len(by)} cells meet >= 1.5x scipy and >= 1.0x torch.")


def pipeline_table(rows):
    by = defaultdict(dict)
    for r in rows:
        if r.get("suite") == "pipelines":
            by[r["pipeline"]][int(r["threads"])] = r["t"]
    if not by:
        return
    print("\n| pipeline (400 clips x 5 s) | 1 thread | 2 threads | scaling | goal (>= 1.7x) |")
    print("|---|---|---|---|---|")
    for p, d in by.items():
        s = d[1] / d[2] if 1 in d and 2 in d else None
        print(f"| {p} | {_ms(d.get(1))} | {_ms(d.get(2))} | "
              f"{'-' if s is None else f'{s:.2f}x'} | {'-' if s is None else 'met' if s >= 1.7 else 'NOT met'} |")


def peer_table(rows, prefix, goal, title):
    by = defaultdict(dict)
    for r in rows:
        if r["group"].startswith(prefix):
            key = (r.get("cfg", ""), int(r.get("threads", 1)))
            by[key][r["peer"]] = r["t"]
    if not by:
        return
    print(f"\n{title}\n")
    print("| config | threads | rae_fast | best torch | vs torch | goal | other peers (ratio) |")
    print("|---|---|---|---|---|---|---|")
    for (cfg, t) in sorted(by):
        d = by[(cfg, t)]
        ours = d.get("rae_fast")
        torch = {p: v for p, v in d.items() if p.startswith("torch")}
        best = min(torch.items(), key=lambda kv: kv[1]) if torch else (None, None)
        others = ", ".join(f"{p} {_ms(v)} ({_ratio(v, ours)})" for p, v in sorted(d.items(), key=lambda kv: kv[1])
                           if p != "rae_fast" and not p.startswith("torch"))
        ok = ours is not None and best[1] is not None and best[1] / ours >= goal
        print(f"| {cfg or '-'} | {t} | {_ms(ours)} | {best[0]} {_ms(best[1])} | {_ratio(best[1], ours)} "
              f"| {'met' if ok else 'NOT met'} (>= {goal}x) | {others or '-'} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+")
    ap.add_argument("--stat", default="min", choices=["min", "median", "mean"])
    args = ap.parse_args()
    rows = _load(args.json, args.stat)
    fft_table(rows)
    pipeline_table(rows)
    peer_table(rows, "log-mel", 6.0, "log-mel (bench_logmel.py)")
    peer_table(rows, "autocorrelogram 5 s", 3.0, "autocorrelogram (bench_autocorr.py)")


if __name__ == "__main__":
    main()
