"""API list latency on a large staff directory: /api/v1/users and /api/v1/teams."""

from __future__ import annotations

import math
import time
from io import StringIO
from typing import Any
from urllib.parse import quote

from benchmarks.harness import Bench, gunicorn_config
from benchmarks.scenarios import scenario

PAGE_SIZE = 50  # the API's default page size
USERS_PER_TEAM = 40  # what `guanxi demo` plans by default


@scenario(name="api_lists", title="API list latency: users and teams", default_size=100_000, order=10)
def api_lists(bench: Bench) -> dict[str, Any]:
    """Latency of the paged list endpoints a client walks first, on a staff directory of `size` users in
    one team per 40 users, loaded with `guanxi demo` (seed 1). Requests go one after another over one
    kept-alive connection to a real `guanxi web` on 127.0.0.1, with `Authorization: Bearer <token>`;
    each kind of request gets 10 untimed warm-up requests first. The administrator sees personal data
    unmasked, so each user page it reads also writes 50 `pii_viewed` audit rows; the sales user sees it
    masked and writes none."""
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from guanxi.core.models import ADMINISTRATOR, User
    from guanxi.core.services import token_create

    teams = max(20, bench.size // USERS_PER_TEAM)
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrated = time.perf_counter()
    bench.say(f"migrated in {migrated - started:.1f} s; loading {bench.size} users in {teams} teams")
    call_command("demo", users=bench.size, teams=teams, customers=0, seed=1, stdout=StringIO())
    loaded = time.perf_counter()
    bench.analyze()
    bench.say(f"loaded in {loaded - migrated:.1f} s")

    admin = User.objects.filter(groups=Group.objects.get(name=ADMINISTRATOR)).order_by("id").first()
    sales = User.objects.filter(groups__name="sales").exclude(groups__name="manager").order_by("id").first()
    if admin is None or sales is None:
        raise RuntimeError("the demo load made no administrator or no sales user")
    _token, admin_token = token_create(user=admin, name="bench")
    _token, sales_token = token_create(user=sales, name="bench")

    user_middle = math.ceil(bench.size / PAGE_SIZE) // 2 + 1
    team_middle = math.ceil(teams / PAGE_SIZE) // 2 + 1
    requests = [
        ("users, first page (administrator)", "/api/v1/users?page=1", admin_token),
        (f"users, middle page {user_middle} (administrator)", f"/api/v1/users?page={user_middle}", admin_token),
        ("users, search q=王 (administrator)", f"/api/v1/users?q={quote('王')}", admin_token),
        ("users, first page (sales, masked)", "/api/v1/users?page=1", sales_token),
        ("teams, first page (administrator)", "/api/v1/teams?page=1", admin_token),
        (f"teams, middle page {team_middle} (administrator)", f"/api/v1/teams?page={team_middle}", admin_token),
    ]
    with bench.serve(ready_path="/api/v1/teams?page=1", token=admin_token) as server:
        rows = [bench.measure(server, label=label, path=path, token=token) for label, path, token in requests]
    return {
        "sizes": {"users": bench.size, "teams": teams},
        "setup": {"migrate_s": round(migrated - started, 1), "load_s": round(loaded - migrated, 1)},
        "server": gunicorn_config(),
        "rows": rows,
    }
