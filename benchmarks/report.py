"""docs/benchmarks.md, rewritten whole from the stored results: one section per scenario."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

from benchmarks.harness import ROOT
from benchmarks.scenarios import Scenario

RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"

HEADER = """\
# Benchmarks

This page is generated: do not edit it by hand. Re-run every scenario and rewrite it with

    make bench

which creates the benchmark's own environment `.venv-bench` when it is missing (the project plus the
anchors it is compared with, such as django-import-export, which never enter `.venv`) and runs
`.venv-bench/bin/python benchmarks/run.py $(BENCH_ARGS)`. Useful variants:

    make bench BENCH_ARGS="--list"                                              # the scenarios and their default sizes
    make bench BENCH_ARGS="--scenario api_lists --size 10000"                   # one scenario, another size
    make bench BENCH_ARGS="--scenario imports --size 1000000 --db postgresql"   # one database only
    make bench BENCH_ARGS="--report"                                            # rewrite this page from stored results

`PG_BENCH_DB=<name>` gives the PostgreSQL benchmark database another name (for parallel runs).

Every scenario runs twice, on SQLite and on PostgreSQL, each time on a database of its own made for
the run (SQLite under `var/bench/sqlite/`, PostgreSQL database `guanxi_bench` at `PG_URL`, default
`postgres://postgres@127.0.0.1:5432/postgres`, dropped afterwards) with its own `GUANXI_VAR_DIR`, so it
never touches the demo data. PostgreSQL is skipped, with the reason printed, when no server answers.
All traffic goes to 127.0.0.1. Each run leaves its figures in `benchmarks/results/<scenario>.<database>.<size>.json`;
this page lists the latest result per scenario, database and size. Latencies are measured by the client,
request sent to response read, in milliseconds; p50 and p95 are nearest-rank percentiles. After a bulk load
a scenario refreshes the statistics (and on PostgreSQL vacuums, as autovacuum would: the bench server runs
with it off) before it measures; runs at commits before 2c38122 measured tables that were not vacuumed.
"""


def _setup_item(key: str, value: Any) -> str:
    """A set-up figure: seconds when its key ends in `_s` ("load_s": 1.5 → "load 1.5 s"), else a plain count."""
    return f"{key.removesuffix('_s')} {value} s" if key.endswith("_s") else f"{key.replace('_', ' ')} {value:,}"


def load_results() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]


def _machine(m: dict[str, Any]) -> str:
    return f"{m['cpu']}, {m['cores']} cores, {m['ram_gib']:g} GiB RAM"


def _sizes(sizes: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {what}" for what, count in sizes.items())


def section(scenario: Scenario | None, name: str, results: list[dict[str, Any]]) -> str:
    title = scenario.title if scenario else results[0].get("title", name)
    lines = [f"## {title} (`{name}`)", ""]
    if scenario and scenario.description:
        lines += [scenario.description, ""]
    if "throughput" in results[0]:
        return "\n".join(lines + _throughput(results))
    if "quality" in results[0]:
        return "\n".join(lines + _quality(results))
    lines += [
        "| date | machine | database | sizes | request | rows matched | requests sent | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|--:|--:|--:|--:|--:|",
    ]
    for result in results:
        run = f"| {result['date']} | {_machine(result['machine'])} | {result['database']} | {_sizes(result['sizes'])} "
        for row in result["rows"]:
            matched = f"{row['matching_rows']:,}" if row.get("matching_rows") is not None else ""
            lines.append(
                f"{run}| {row['label']} | {matched} | {row['requests']} "
                f"| {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |"
            )
    lines.append("")
    for result in results:
        setup = ", ".join(_setup_item(key, value) for key, value in result.get("setup", {}).items())
        load = "; ".join(
            f"{when} {', '.join(str(x) for x in result['machine'][key])}"
            for key, when in (("load_before", "before"), ("load_after", "after"))
            if result["machine"].get(key)
        )
        lines.append(
            f"- {result['database']}, {_sizes(result['sizes'])}: commit {result['commit']}; "
            f"{result.get('server', '')}; set-up {setup or 'n/a'}; load average (1, 5, 15 min) {load or 'n/a'}."
        )
        lines += [f"  - {note}" for note in result.get("notes", [])]
    lines.append("")
    return "\n".join(lines)


def _throughput(results: list[dict[str, Any]]) -> list[str]:
    """Rows-per-second tables (import-style scenarios): one line per contender, then the ratios."""
    lines = [
        "| date | machine | database | contender | rows | seconds | rows/s |",
        "|---|---|---|---|--:|--:|--:|",
    ]
    for result in results:
        run = f"| {result['date']} | {_machine(result['machine'])} | {result['database']} "
        for row in result["throughput"]:
            lines.append(f"{run}| {row['label']} | {row['rows']:,} | {row['seconds']} | {row['rows_per_s']:,} |")
    lines.append("")
    for result in results:
        ratios = "; ".join(f"{k} {v}" for k, v in result.get("ratios", {}).items()) or "n/a"
        notes = " ".join(result.get("notes", []))
        load = "; ".join(
            f"{when} {', '.join(str(x) for x in result['machine'][key])}"
            for key, when in (("load_before", "before"), ("load_after", "after"))
            if result["machine"].get(key)
        )
        lines.append(
            f"- {result['database']}, {result['size']:,} rows: commit {result['commit']}; ratios: {ratios}; "
            f"load average (1, 5, 15 min) {load or 'n/a'}. {notes}"
        )
    lines.append("")
    return lines


def _quality(results: list[dict[str, Any]]) -> list[str]:
    """Record-linkage tables (dedupe): accuracy per data set and engine, then time and memory per size."""
    # the accuracy part is the same in every run: shown from the run on the least loaded machine (its times)
    latest = min(results, key=lambda r: (r["machine"].get("load_after") or [0.0])[0])
    load = ", ".join(str(x) for x in latest["machine"].get("load_after") or []) or "n/a"
    lines = [
        f"Accuracy ({latest['date']}, {_machine(latest['machine'])}, commit {latest['commit']}, load average after "
        f"the run {load}; match probability ≥ 0.9; both engines timed in the same process, one after the other):",
        "",
        "| data | engine | true pairs | pairs found | precision | recall | F1 | seconds |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in latest["quality"]:
        lines.append(
            f"| {row['data']} | {row['engine']} | {row['true_pairs']:,} | {row['pairs_found']:,} | {row['precision']} "
            f"| {row['recall']} | {row['f1']} | {row['seconds']} |"
        )
    stages = ("reading", "blocking", "comparing", "estimating", "clustering", "storing")
    lines += [
        "",
        "Scale: the job's path end to end (a full run: read from the database, block, compare, estimate, "
        "cluster, store clusters and blocking keys), with the seconds of each stage where the run recorded them:",
        "",
        "| date | machine | database | commit | contacts | seconds | read | block | compare | estimate | cluster "
        "| store | peak memory MiB | pairs scored | clusters | load average before; after |",
        "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for result in results:
        scale = result["scale"]
        seconds = scale.get("stage_seconds") or {}
        load = "; ".join(
            ", ".join(str(x) for x in result["machine"][key])
            for key in ("load_before", "load_after")
            if result["machine"].get(key)
        )
        lines.append(
            f"| {result['date']} | {_machine(result['machine'])} | {result['database']} | {result['commit']} "
            f"| {scale['contacts']:,} | {scale['seconds']} | "
            + " | ".join(str(seconds.get(stage, "")) for stage in stages)
            + f" | {scale['peak_rss_mib']} | {scale['pairs']:,} | {scale['clusters']:,} | {load} |"
        )
    lines.append("")
    by_db: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_db.setdefault(result["database"], []).append(result)
    for database, runs in by_db.items():
        runs = sorted(runs, key=lambda r: r["scale"]["contacts"])
        steps = []
        for before, after in pairwise(runs):
            a, b = before["scale"], after["scale"]
            steps.append(
                f"{a['contacts']:,} → {b['contacts']:,} contacts (×{b['contacts'] / a['contacts']:g}): "
                f"time ×{b['seconds'] / a['seconds']:.1f}, peak memory ×{b['peak_rss_mib'] / a['peak_rss_mib']:.1f}, "
                f"pairs ×{b['pairs'] / max(a['pairs'], 1):.1f}"
            )
        if steps:
            lines.append(f"- Growth on {database}: " + "; ".join(steps) + ".")
    lines.append("")
    for result in results:
        lines += [f"- {result['database']}, {result['size']:,}: {note}" for note in result.get("notes", [])]
    lines.append("")
    return lines


def write_report(scenarios: list[Scenario]) -> Path:
    """Rewrite docs/benchmarks.md from benchmarks/results/*.json, scenarios in registry order."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for result in load_results():
        if "scenario" not in result:  # a side file a scenario reads (e.g. the feedback classifier's figures)
            continue
        by_name.setdefault(result["scenario"], []).append(result)
    known = {s.name: s for s in scenarios}
    order = [s.name for s in scenarios if s.name in by_name] + sorted(set(by_name) - set(known))
    parts = [HEADER]
    for name in order:
        results = sorted(by_name[name], key=lambda r: (r["db"] != "sqlite", r["size"]))
        parts.append(section(known.get(name), name, results))
    if not order:
        parts.append("No results yet: run `make bench`.\n")
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(parts).rstrip() + "\n")
    return DOC
