"""Print, for each benchmark group of a pytest-benchmark JSON file, every peer's time and its
ratio to rae_fast (ratio > 1: rae_fast is that many times faster).

    python benchmarks/ratios.py results.json [--stat min|median|mean]
"""
import argparse
import json
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json")
    ap.add_argument("--stat", default="min", choices=["min", "median", "mean"])
    args = ap.parse_args()
    data = json.load(open(args.json))
    groups = defaultdict(list)
    for b in data["benchmarks"]:
        peer = b.get("extra_info", {}).get("peer", b["name"])
        groups[b["group"]].append((peer, b["stats"][args.stat]))
    for group, rows in groups.items():
        base = [t for p, t in rows if p in ("rae_fast", "rae_fast-onnx", "rae_fast-ort")]
        ref = min(base) if base else None
        print(f"\n{group}")
        for peer, t in sorted(rows, key=lambda r: r[1]):
            ratio = f"{t / ref:6.2f}x" if ref else ""
            print(f"  {peer:<22} {t * 1e3:10.2f} ms  {ratio}")


if __name__ == "__main__":
    main()
