"""Prints the side-by-side table from the JSON results: table.py FLUXO.json NAME=PREFECT.json ..."""
import json
import sys

fluxo = json.load(open(sys.argv[1]))
peers = [(arg.split("=", 1)[0], json.load(open(arg.split("=", 1)[1]))) for arg in sys.argv[2:]]

# (label, key, unit, higher is better)
FIGURES = [
    ("runs/s, one-task flow, concurrency 4", "runsPerSecond", "runs/s", True),
    ("schedule-to-start p50", "scheduleToStartP50Ms", "ms", False),
    ("schedule-to-start p99", "scheduleToStartP99Ms", "ms", False),
    ("one-task run, start -> end (median)", "oneTaskRunMs", "ms", False),
    ("40-task run, start -> end (median)", "fortyTaskRunMs", "ms", False),
    ("per-task overhead (40-task - 1-task) / 39", "perTaskMs", "ms", False),
]


def fmt(value):
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


header = ["figure", "fluxo"]
for name, _ in peers:
    header += [f"Prefect 3, {name}", "fluxo's advantage"]
rows = [header, ["---"] * len(header)]
for label, key, unit, higher in FIGURES:
    row = [label, f"{fmt(fluxo[key])} {unit}"]
    for _, peer in peers:
        row.append(f"{fmt(peer[key])} {unit}")
        ours, theirs = fluxo[key], peer[key]
        if ours <= 0 or theirs <= 0:
            row.append("n/a")
        else:
            row.append(f"{(ours / theirs if higher else theirs / ours):,.1f}x")
    rows.append(row)
for row in rows:
    print("| " + " | ".join(row) + " |")
