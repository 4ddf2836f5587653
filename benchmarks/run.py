"""`make bench`: run every benchmark scenario on SQLite and PostgreSQL, then rewrite docs/benchmarks.md.

    benchmarks/run.py                                  all scenarios, default sizes, both databases
    benchmarks/run.py --scenario api_lists --size N    one scenario at another size
    benchmarks/run.py --db sqlite                      one database
    benchmarks/run.py --report                         only rewrite docs/benchmarks.md from stored results

Each (scenario, database) pair runs in a child process of this script whose environment points
DATABASE_URL and GUANXI_VAR_DIR at a database made for the run, so Django's settings, read once at
start-up, can never reach the demo database.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.harness import BENCH_VAR, Bench, git_commit, machine, wipe  # noqa: E402
from benchmarks.report import RESULTS, write_report  # noqa: E402
from benchmarks.scenarios import Scenario, scenarios  # noqa: E402

DATABASES = ("sqlite", "postgresql")
PG_ADMIN_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = os.environ.get("PG_BENCH_DB", "guanxi_bench")  # one per person sharing a server


def _pg(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def _pg_bench_url() -> str:
    base, _slash, _dbname = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{PG_BENCH_DB}"


def pg_recreate() -> str:
    """Drop and create the benchmark database; returns why not when no PostgreSQL server answers."""
    import psycopg

    try:
        with psycopg.connect(_pg(PG_ADMIN_URL), autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")
    except psycopg.Error as exc:
        return f"no PostgreSQL server answers at {PG_ADMIN_URL} ({str(exc).strip().splitlines()[0]})"
    return ""


def pg_drop() -> None:
    import psycopg

    with psycopg.connect(_pg(PG_ADMIN_URL), autocommit=True, connect_timeout=3) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")


def run_pair(scenario: Scenario, db: str, size: int, requests: int, keep: bool = False) -> str:
    """Prepare a fresh database, run the scenario in a child process, keep its result file.

    Returns "ok", "skipped" (no PostgreSQL server) or "failed".
    """
    var_dir = BENCH_VAR / db
    wipe(var_dir)
    if db == "postgresql":
        reason = pg_recreate()
        if reason:
            print(f"  SKIPPED {scenario.name} on PostgreSQL: {reason}. Set PG_URL to point at a server.")
            return "skipped"
        database_url = _pg_bench_url()
    else:
        database_url = f"sqlite:///{var_dir / 'guanxi.sqlite3'}"
    result_file = RESULTS / f"{scenario.name}.{db}.{size}.json"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GUANXI_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "guanxi.settings",
        "CACHE_URL": f"file://{var_dir / 'cache'}",
        "API_RATE_LIMIT_PER_MINUTE": "1000000",
        "DEBUG": "",
    }
    command = [sys.executable, __file__, "--child", "--scenario", scenario.name, "--db", db]
    command += ["--size", str(size), "--requests", str(requests), "--result", str(result_file)]
    print(f"  {scenario.name} on {db}, size {size:,}: {database_url}")
    started = time.monotonic()
    try:
        code = subprocess.call(command, env=env, cwd=ROOT)
    finally:
        if db == "postgresql" and not keep:
            pg_drop()
    if code != 0:
        print(f"  FAILED {scenario.name} on {db} (exit {code})")
        return "failed"
    print(f"  done in {time.monotonic() - started:.0f} s → {result_file.relative_to(ROOT)}")
    return "ok"


def child(scenario: Scenario, db: str, size: int, requests: int, result_file: Path) -> None:
    """Inside the child: Django set up against the bench database; run, then write the result."""
    import django

    expected = os.environ["DATABASE_URL"]
    django.setup()
    from django.conf import settings

    name = str(settings.DATABASES["default"]["NAME"])
    if db == "sqlite" and not Path(name).resolve().is_relative_to(BENCH_VAR):
        raise SystemExit(f"refusing to run: {name} is not a benchmark database")
    if db == "postgresql" and name != PG_BENCH_DB:
        raise SystemExit(f"refusing to run: {expected} is not the benchmark database")

    bench = Bench(db=db, size=size, requests=requests, var_dir=Path(os.environ["GUANXI_VAR_DIR"]))
    before = machine()
    figures: dict[str, Any] = scenario.fn(bench)
    before["load_after"] = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews latency
    result = {
        "scenario": scenario.name,
        "title": scenario.title,
        "db": db,
        "database": bench.database(),
        "size": size,
        "date": datetime.now().astimezone().strftime("%Y-%m-%d"),
        "commit": git_commit(),
        "machine": before,
        **figures,
    }
    result_file.parent.mkdir(parents=True, exist_ok=True)
    result_file.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", action="append", help="run only this scenario (repeatable)")
    parser.add_argument("--size", type=int, help="override the scenario's default size")
    parser.add_argument("--db", choices=(*DATABASES, "both"), default="both")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per kind of request (default 300)")
    parser.add_argument("--report", action="store_true", help="only rewrite docs/benchmarks.md from stored results")
    parser.add_argument("--list", action="store_true", help="list the scenarios")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards (to study plans)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    registry = scenarios()
    by_name = {s.name: s for s in registry}
    if args.list:
        for s in registry:
            print(f"{s.name:20} default size {s.default_size:>10,}  {s.title}")
        return 0
    unknown = sorted(set(args.scenario or []) - set(by_name))
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; known: {', '.join(by_name)}")
    chosen = [by_name[name] for name in args.scenario] if args.scenario else registry

    if args.child:
        child(chosen[0], args.db, args.size, args.requests, args.result)
        return 0
    if not args.report:
        outcomes = []
        for scenario in chosen:
            size = args.size or scenario.default_size
            for db in DATABASES if args.db == "both" else (args.db,):
                outcomes.append(run_pair(scenario, db, size, args.requests, keep=args.keep))
        if "failed" in outcomes or (os.environ.get("CI") and "skipped" in outcomes):
            write_report(registry)
            return 1
    print(f"wrote {write_report(registry).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
