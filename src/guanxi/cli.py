"""`guanxi`: the one console script.

guanxi serve        web server (gunicorn) + worker + beat, for the embedded set-up
guanxi web          the web server alone (production: one per node, behind a proxy)
guanxi worker       a Celery worker (run as many as the load needs)
guanxi beat         the Celery scheduler (run exactly one)
guanxi migrate      apply database migrations
guanxi demo         load bilingual demo data (--customers N --seed S)
guanxi createadmin  create the first administrator and print the login
guanxi <other>      any Django management command (check, shell, compilemessages, …)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def _django(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["guanxi", *argv])


def _gunicorn_args(argv: list[str]) -> list[str]:
    bind = os.environ.get("BIND", "127.0.0.1:8000")
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    return [
        sys.executable, "-m", "gunicorn", "guanxi.wsgi:application",
        "--bind", bind, "--workers", workers, "--threads", os.environ.get("WEB_THREADS", "4"),
        "--access-logfile", "-", "--forwarded-allow-ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        *argv,
    ]  # fmt: skip


def _celery_args(role: str, argv: list[str]) -> list[str]:
    if role == "worker":
        extra = ["--concurrency", os.environ.get("WORKER_CONCURRENCY", "2"), "--loglevel", "INFO"]
    else:
        extra = ["--loglevel", "INFO"]
    return [sys.executable, "-m", "celery", "-A", "guanxi", role, *extra, *argv]


def serve(argv: list[str]) -> int:
    """Run web, worker and beat together; stop all three when one stops or on Ctrl-C."""
    procs = [
        subprocess.Popen(_gunicorn_args(argv)),
        subprocess.Popen(_celery_args("worker", [])),
        subprocess.Popen(_celery_args("beat", [])),
    ]
    print(f"Guanxi is serving at http://{os.environ.get('BIND', '127.0.0.1:8000')}/ (worker and beat running)")
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for proc in procs:
            if proc.poll() is not None:
                code, stopping = proc.returncode or 1, True
        time.sleep(0.5)
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return code


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command in {"help", "-h", "--help"}:
        print(__doc__)
        return 0
    if command == "serve":
        return serve(rest)
    # exec, not a child process: signals reach the server itself and nothing is left orphaned
    if command == "web":
        args = _gunicorn_args(rest)
        os.execv(args[0], args)
    if command in {"worker", "beat"}:
        args = _celery_args(command, rest)
        os.execv(args[0], args)
    _django([command, *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
