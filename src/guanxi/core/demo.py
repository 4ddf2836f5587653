"""Demo data: bilingual people, companies, staff and teams, and the registry of demo loaders.

The generators are deterministic per seed and fast enough for a million rows: the name, company
and city pools are read once from Faker's zh_CN, zh_TW and en_US providers and sampled with
`random.Random`, never by calling Faker per row. About 70% of what they make is Chinese
(mainland and Taiwan), 30% English (US and UK).

Each app adds its own demo data with a loader in its `demo.py` module; `guanxi demo` imports the
`demo` module of every installed app and runs the loaders in order, each in one transaction:

    @demo_loader(order=20)
    def customers_demo(*, seed: int, sizes: DemoSizes, stdout: DemoOutput) -> dict[str, int]:
        '''Contacts and accounts for a customer base of `sizes.customers`.'''
        ...
        return {"contacts created": n}

A loader must be idempotent: run twice with the same seed and sizes, the second run adds nothing.
Loaders draw their records from `demo_people` and `demo_companies` (each with its own `stream`
name) and write large volumes with `insert_rows`.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from .bulk import insert_rows
from .events import record_event
from .models import ADMINISTRATOR, Team, User
from .services import team_create, team_update

_T = TypeVar("_T")

DEMO_PASSWORD = "guanxi-demo-2026"
STAFF_EMAIL_DOMAIN = "guanxi.example.com"
CUSTOMER_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")

# --- the loader registry ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoSizes:
    """What one `guanxi demo` run asks for: how many of each, and the demo users' password hash."""

    customers: int
    users: int
    teams: int
    password_hash: str = ""


class DemoOutput(Protocol):
    """Where loaders report progress: the command's stdout, or any text stream."""

    def write(self, msg: str, /) -> Any: ...


DemoLoader = Callable[..., Mapping[str, int]]


@dataclass(frozen=True, slots=True)
class RegisteredLoader:
    order: int
    name: str
    fn: DemoLoader


_loaders: dict[str, RegisteredLoader] = {}


def demo_loader(order: int) -> Callable[[DemoLoader], DemoLoader]:
    """Register a loader `fn(*, seed, sizes, stdout) -> {what: count}`; lower `order` runs first."""

    def register(fn: DemoLoader) -> DemoLoader:
        name = f"{fn.__module__}.{fn.__name__}"
        _loaders[name] = RegisteredLoader(order=order, name=name, fn=fn)
        return fn

    return register


def demo_loaders() -> list[RegisteredLoader]:
    """The registered loaders in the order they run."""
    return sorted(_loaders.values(), key=lambda loader: (loader.order, loader.name))


# --- pools, read once from Faker's providers ---------------------------------------------------

# (code, zh-Hans word, zh-Hant word, English word) — the words go into company names.
INDUSTRIES = (
    ("technology", "科技", "科技", "Technology"),
    ("trading", "贸易", "貿易", "Trading"),
    ("manufacturing", "实业", "實業", "Industries"),
    ("retail", "商贸", "商貿", "Retail"),
    ("logistics", "物流", "物流", "Logistics"),
    ("finance", "投资", "投資", "Capital"),
    ("healthcare", "医疗", "醫療", "Healthcare"),
    ("education", "教育", "教育", "Education"),
    ("energy", "能源", "能源", "Energy"),
    ("media", "传媒", "傳媒", "Media"),
    ("food", "食品", "食品", "Foods"),
    ("construction", "建设", "建設", "Construction"),
)

# Faker's address providers list provinces and cities separately; companies need them to agree,
# so the mainland, US and UK geography is this small table (region → province → cities).
CN_GEOGRAPHY: dict[str, dict[str, tuple[str, ...]]] = {
    "华东": {
        "上海市": ("上海",),
        "江苏省": ("南京", "苏州", "无锡", "常州"),
        "浙江省": ("杭州", "宁波", "温州", "绍兴"),
        "山东省": ("济南", "青岛", "烟台"),
        "福建省": ("福州", "厦门", "泉州"),
        "安徽省": ("合肥", "芜湖"),
    },
    "华南": {
        "广东省": ("广州", "深圳", "东莞", "佛山", "珠海"),
        "广西壮族自治区": ("南宁", "桂林"),
        "海南省": ("海口",),
    },
    "华北": {"北京市": ("北京",), "天津市": ("天津",), "河北省": ("石家庄", "唐山"), "山西省": ("太原",)},
    "华中": {"湖北省": ("武汉", "宜昌"), "湖南省": ("长沙",), "河南省": ("郑州", "洛阳"), "江西省": ("南昌",)},
    "西南": {"四川省": ("成都", "绵阳"), "重庆市": ("重庆",), "云南省": ("昆明",), "贵州省": ("贵阳",)},
    "西北": {"陕西省": ("西安",), "甘肃省": ("兰州",), "新疆维吾尔自治区": ("乌鲁木齐",)},
    "东北": {"辽宁省": ("沈阳", "大连"), "吉林省": ("长春",), "黑龙江省": ("哈尔滨",)},
}
US_GEOGRAPHY = {
    "California": (("Los Angeles", "213"), ("San Francisco", "415"), ("San Jose", "408")),
    "New York": (("New York", "212"), ("Buffalo", "716")),
    "Texas": (("Houston", "713"), ("Austin", "512"), ("Dallas", "214")),
    "Illinois": (("Chicago", "312"),),
    "Washington": (("Seattle", "206"),),
    "Massachusetts": (("Boston", "617"),),
    "Georgia": (("Atlanta", "404"),),
}
UK_GEOGRAPHY = {
    "England": ("London", "Manchester", "Birmingham", "Leeds", "Bristol"),
    "Scotland": ("Edinburgh", "Glasgow"),
    "Wales": ("Cardiff",),
}

CN_MOBILE_PREFIXES = (
    *(str(n) for n in range(130, 140)),
    *("150", "151", "152", "153", "155", "156", "157", "158", "159"),
    *("166", "170", "171", "173", "175", "176", "177", "178"),
    *(str(n) for n in range(180, 190)),
    *("198", "199"),
)

# (locale, script, country, interface language, cumulative share): 60% mainland, 10% Taiwan, 20% US, 10% UK.
LOCALES = (
    ("zh_CN", "zh", "CN", "zh-hans", 0.60),
    ("zh_TW", "zh", "TW", "zh-hant", 0.70),
    ("en_US", "en", "US", "en", 0.90),
    ("en_GB", "en", "GB", "en", 1.00),
)
_LOCALE_CUTS = [share for *_rest, share in LOCALES]

# Consonant-vowel syllables for the ASCII e-mail handles of Chinese names: made from the row's
# index, not from the name, so no pinyin is needed and every handle is unique.
_SYLLABLES = tuple(c + v for c in "bdfghjklmnprstwz" for v in "aeiou")
_SYLLABLE_PAIRS = tuple(a + b for b in _SYLLABLES for a in _SYLLABLES)
_HANDLES = len(_SYLLABLE_PAIRS) ** 2  # four syllables: 40,960,000 distinct handles


@dataclass(frozen=True, slots=True)
class _WeightedPool:
    items: tuple[str, ...]
    cum_weights: tuple[float, ...]

    @classmethod
    def of(cls, weighted: Mapping[str, float] | Sequence[str]) -> _WeightedPool:
        pairs = list(weighted.items()) if isinstance(weighted, Mapping) else [(item, 1.0) for item in weighted]
        return cls(tuple(k for k, _w in pairs), tuple(itertools.accumulate(w for _k, w in pairs)))

    def pick(self, rng: random.Random) -> str:
        return self.items[bisect.bisect_right(self.cum_weights, rng.random() * self.cum_weights[-1])]


def _choice(rng: random.Random, items: Sequence[_T]) -> _T:
    """`rng.choice`, about three times faster; fine for these small pools."""
    return items[int(rng.random() * len(items))]


@dataclass(frozen=True, slots=True)
class _Pools:
    cn_surnames: _WeightedPool
    cn_given: tuple[str, ...]
    tw_surnames: _WeightedPool
    tw_given: _WeightedPool
    en_surnames: _WeightedPool
    en_given: _WeightedPool
    cn_brands: tuple[str, ...]
    cn_brand_chars: tuple[str, ...]
    tw_cities: tuple[str, ...]
    cn_places: tuple[tuple[str, str, str], ...]
    us_places: tuple[tuple[str, str, str], ...]
    uk_places: tuple[tuple[str, str], ...]


@functools.cache
def _pools() -> _Pools:
    from faker.providers.address.zh_TW import Provider as TwAddress
    from faker.providers.company.zh_CN import Provider as CnCompany
    from faker.providers.person.en_US import Provider as EnPerson
    from faker.providers.person.zh_CN import Provider as CnPerson
    from faker.providers.person.zh_TW import Provider as TwPerson

    han = re.compile(r"^[\u4e00-\u9fff]+$")
    prefixes = [p for p in CnCompany.company_prefixes if han.match(p)]
    return _Pools(
        cn_surnames=_WeightedPool.of(CnPerson.last_names),
        cn_given=tuple(CnPerson.first_names),
        tw_surnames=_WeightedPool.of(TwPerson.last_names),
        tw_given=_WeightedPool.of(TwPerson.first_names),
        en_surnames=_WeightedPool.of(EnPerson.last_names),
        en_given=_WeightedPool.of(EnPerson.first_names),
        cn_brands=tuple(p for p in prefixes if len(p) == 2),
        cn_brand_chars=tuple(sorted({ch for p in prefixes for ch in p})),
        tw_cities=tuple(dict.fromkeys(TwAddress.cities)),
        cn_places=tuple(
            (region, province, city)
            for region, provinces in CN_GEOGRAPHY.items()
            for province, cities in provinces.items()
            for city in cities
        ),
        us_places=tuple((state, city, area) for state, cities in US_GEOGRAPHY.items() for city, area in cities),
        uk_places=tuple((nation, city) for nation, cities in UK_GEOGRAPHY.items() for city in cities),
    )


def _rng(seed: int, stream: str) -> random.Random:
    """An independent, reproducible random stream per (seed, purpose)."""
    return random.Random(f"guanxi-demo:{seed}:{stream}")


def _spread(index: int, *, salt: int, modulus: int) -> int:
    """A bijection of 0..modulus-1 that scatters consecutive indexes, so unique ids don't look sequential."""
    multiplier = 2_654_435_761  # a prime (Knuth's multiplicative hash), so it divides none of the moduli
    return (index * multiplier + salt) % modulus


def _pick_locale(rng: random.Random) -> tuple[str, str, str, str, float]:
    return LOCALES[bisect.bisect_right(_LOCALE_CUTS, rng.random())]


# --- people -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoPerson:
    """A generated person; `email` and `phone` are unique within one stream of one seed."""

    index: int
    full_name: str
    surname: str
    given_name: str
    script: str  # "zh" or "en"
    locale: str  # zh_CN, zh_TW, en_US, en_GB
    country: str  # ISO 3166 code
    language: str  # one of settings.LANGUAGES
    phone: str  # E.164
    email: str


def _ascii_handle(number: int) -> str:
    """Four syllables spelling `number` (below _HANDLES), e.g. "kobetira"."""
    high, low = divmod(number, len(_SYLLABLE_PAIRS))
    return _SYLLABLE_PAIRS[low] + _SYLLABLE_PAIRS[high]


# UK mobile blocks (07xx) that libphonenumber accepts whole as mobile: not 076 (pagers), 0770 or 0791.
GB_MOBILE_PREFIXES = (
    *(str(n) for n in range(740, 760)),
    *(str(n) for n in range(771, 790)),
    *(str(n) for n in range(792, 800)),
)
# Taiwan mobiles are 09xx; 099x are personal numbers.
TW_MOBILE_PREFIXES = tuple(str(n) for n in range(900, 990))
# How many distinct line numbers each country's format below has room for.
_PHONE_LINES = {
    "CN": 10**8,
    "TW": len(TW_MOBILE_PREFIXES) * 10**6,
    "US": 8 * 10**6,
    "GB": len(GB_MOBILE_PREFIXES) * 10**7,
}


def _phone(country: str, line: int, rng: random.Random, area: str = "") -> str:
    """A valid E.164 mobile number; distinct `line` values (below _PHONE_LINES) give distinct numbers."""
    if country == "CN":
        return f"+86{_choice(rng, CN_MOBILE_PREFIXES)}{line:08d}"
    if country == "TW":
        return f"+886{TW_MOBILE_PREFIXES[line // 10**6]}{line % 10**6:06d}"
    if country == "US":
        return f"+1{area}{2 + line // 10**6}{line % 10**6:06d}"
    return f"+44{GB_MOBILE_PREFIXES[line // 10**7]}{line % 10**7:07d}"


def demo_people(
    *, seed: int, count: int, stream: str = "people", domains: Sequence[str] = CUSTOMER_EMAIL_DOMAINS
) -> Iterator[DemoPerson]:
    """`count` people, about 70% Chinese and 30% English; the same seed and stream give the same people."""
    pools = _pools()
    rng = _rng(seed, stream)
    salt = _rng(seed, f"{stream}:salt").randrange(10**9)
    non_letters = re.compile(r"[^a-z]")
    ascii_names = {
        name: non_letters.sub("", name.lower())
        for name in (*pools.en_given.items, *pools.en_surnames.items)
        if non_letters.search(name.lower())
    }
    for index in range(count):
        locale, script, country, language, _share = _pick_locale(rng)
        line = _spread(index, salt=salt, modulus=_PHONE_LINES[country])
        area = ""
        if script == "zh":
            if country == "CN":
                surname = pools.cn_surnames.pick(rng)
                given = _choice(rng, pools.cn_given)
                if len(given) == 1 and rng.random() < 0.6:
                    given += _choice(rng, pools.cn_given)[0]
            else:
                surname, given = pools.tw_surnames.pick(rng), pools.tw_given.pick(rng)
            full_name = surname + given
            handle = _ascii_handle(_spread(index, salt=salt, modulus=_HANDLES))
        else:
            surname, given = pools.en_surnames.pick(rng), pools.en_given.pick(rng)
            full_name = f"{given} {surname}"
            handle = f"{ascii_names.get(given) or given.lower()}.{ascii_names.get(surname) or surname.lower()}{index}"
            if country == "US":
                area = pools.us_places[int(rng.random() * len(pools.us_places))][2]
        yield DemoPerson(
            index=index,
            full_name=full_name,
            surname=surname,
            given_name=given,
            script=script,
            locale=locale,
            country=country,
            language=language,
            phone=_phone(country, line, rng, area),
            email=f"{handle}@{_choice(rng, domains)}",
        )


# --- companies --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoCompany:
    """A generated company with its industry and where it sits (region → province or state → city)."""

    index: int
    name: str
    script: str
    locale: str
    country: str
    industry: str  # one of the INDUSTRIES codes
    region: str
    province: str
    city: str


def demo_companies(*, seed: int, count: int, stream: str = "companies") -> Iterator[DemoCompany]:
    """`count` companies, about 70% Chinese-named and 30% English-named; deterministic per seed and stream."""
    pools = _pools()
    rng = _rng(seed, stream)
    us_suffixes = ("Inc.", "LLC", "Corp.", "Co., Ltd.", "Group")
    uk_suffixes = ("Ltd", "PLC", "Group", "Co., Ltd.", "& Partners")
    cn_legal = _WeightedPool.of({"有限公司": 6, "股份有限公司": 3, "有限责任公司": 1})
    tw_legal = _WeightedPool.of({"股份有限公司": 6, "有限公司": 4})
    for index in range(count):
        locale, script, country, _language, _share = _pick_locale(rng)
        industry, hans, hant, english = _choice(rng, INDUSTRIES)
        if country == "CN":
            region, province, city = _choice(rng, pools.cn_places)
            if rng.random() < 0.5:
                brand = _choice(rng, pools.cn_brands)
            else:
                brand = _choice(rng, pools.cn_brand_chars) + _choice(rng, pools.cn_brand_chars)
            name = f"{city}{brand}{hans}{cn_legal.pick(rng)}"
        elif country == "TW":
            region = province = "台灣"
            city = _choice(rng, pools.tw_cities)
            name = f"{pools.tw_given.pick(rng)}{hant}{tw_legal.pick(rng)}"
        else:
            if country == "US":
                region = "North America"
                province, city, _area = _choice(rng, pools.us_places)
                suffix = _choice(rng, us_suffixes)
            else:
                region = "Europe"
                province, city = _choice(rng, pools.uk_places)
                suffix = _choice(rng, uk_suffixes)
            founder = pools.en_surnames.pick(rng)
            if rng.random() < 0.2:
                founder = f"{founder} & {pools.en_surnames.pick(rng)}"
            name = f"{founder} {english} {suffix}"
        yield DemoCompany(
            index=index,
            name=name,
            script=script,
            locale=locale,
            country=country,
            industry=industry,
            region=region,
            province=province,
            city=city,
        )


# --- teams and staff --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoTeam:
    """A planned team; `function` is the role its members carry (the head office holds managers)."""

    index: int
    name: str
    parent: int | None
    function: str


# (name, parent index, function); parents come before their children.
_BASE_TEAMS: tuple[tuple[str, int | None, str], ...] = (
    ("总部 Head office", None, "manager"),
    ("销售中心 Sales", 0, "sales"),
    ("客户服务 Customer Service", 0, "service"),
    ("市场部 Marketing", 0, "marketing"),
    ("数据分析 Analytics", 0, "analyst"),
    ("信息技术 IT", 0, ADMINISTRATOR),
    ("华东销售 East China Sales", 1, "sales"),
    ("华南销售 South China Sales", 1, "sales"),
    ("华北销售 North China Sales", 1, "sales"),
    ("华中销售 Central China Sales", 1, "sales"),
    ("西南销售 Southwest China Sales", 1, "sales"),
    ("西北销售 Northwest China Sales", 1, "sales"),
    ("东北销售 Northeast China Sales", 1, "sales"),
    ("港澳台销售 Hong Kong, Macau & Taiwan Sales", 1, "sales"),
    ("海外销售 International Sales", 1, "sales"),
    ("客服热线 Service Hotline", 2, "service"),
    ("在线客服 Online Service", 2, "service"),
    ("大客户服务 Key Account Service", 2, "service"),
    ("品牌推广 Brand", 3, "marketing"),
    ("数字营销 Digital Marketing", 3, "marketing"),
)
# Beyond the base tree, new groups go below these parents in turn: 11 sales, 6 service, 2 marketing, 1 analytics.
_GROUP_PARENTS = (6, 15, 7, 16, 8, 17, 9, 18, 10, 15, 11, 16, 12, 17, 13, 19, 14, 4, 6, 7)
# Share of the staff (other than team managers) per function.
_FUNCTION_WEIGHTS = {"sales": 55.0, "service": 30.0, "marketing": 8.0, "analyst": 6.0, ADMINISTRATOR: 1.0}


def demo_team_count(users: int) -> int:
    """The default number of teams for a staff of `users`: the base tree, then one team per ~40 people."""
    return max(1, min(len(_BASE_TEAMS), users), users // 40)


def demo_teams(*, count: int) -> list[DemoTeam]:
    """The team tree: a bilingual head office and departments, then numbered groups below them."""
    teams = [
        DemoTeam(index=i, name=name, parent=parent, function=function)
        for i, (name, parent, function) in enumerate(_BASE_TEAMS[:count])
    ]
    groups_below: dict[int, int] = {}
    for extra in range(max(0, count - len(_BASE_TEAMS))):
        parent = _BASE_TEAMS[_GROUP_PARENTS[extra % len(_GROUP_PARENTS)]]
        parent_index = _GROUP_PARENTS[extra % len(_GROUP_PARENTS)]
        number = groups_below[parent_index] = groups_below.get(parent_index, 0) + 1
        chinese, english = parent[0].split(" ", 1)
        teams.append(
            DemoTeam(
                index=len(teams),
                name=f"{chinese}{number}组 {english} {number}",
                parent=parent_index,
                function=parent[2],
            )
        )
    return teams


@dataclass(frozen=True, slots=True)
class DemoStaff:
    """A planned member of staff: who, which roles, which team, the team they manage if any, and tenure."""

    person: DemoPerson
    roles: tuple[str, ...]
    team: int
    manages: int | None
    joined_days_ago: int


def demo_staff(*, seed: int, count: int, teams: Sequence[DemoTeam]) -> Iterator[DemoStaff]:
    """Staff for the team tree: the first ones manage a team each, the rest join teams by function."""
    parents = {team.parent for team in teams}
    homes = [team for team in teams if team.index not in parents and team.function != "manager"] or list(teams[:1])
    per_function: dict[str, int] = {}
    for team in homes:
        per_function[team.function] = per_function.get(team.function, 0) + 1
    home_pool = _WeightedPool.of(
        {str(team.index): _FUNCTION_WEIGHTS.get(team.function, 1.0) / per_function[team.function] for team in homes}
    )
    rng = _rng(seed, "staff-teams")
    people = demo_people(seed=seed, count=count, stream="staff", domains=(STAFF_EMAIL_DOMAIN,))
    for person in people:
        if person.index < len(teams):
            team = teams[person.index]
            roles = ("manager",) if team.function == "manager" else ("manager", team.function)
            yield DemoStaff(
                person=person,
                roles=roles,
                team=team.index,
                manages=team.index,
                joined_days_ago=365 + int(rng.random() * 2500),
            )
        else:
            team = teams[int(home_pool.pick(rng))]
            yield DemoStaff(
                person=person,
                roles=(team.function,),
                team=team.index,
                manages=None,
                joined_days_ago=int(rng.random() * 1500),
            )


# --- core's loader ----------------------------------------------------------------------------

_BATCH = 2000


def _existing_emails(emails: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(emails), _BATCH):
        found.update(User.objects.filter(email__in=emails[start : start + _BATCH]).values_list("email", flat=True))
    return found


def _user_ids(emails: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(emails), _BATCH):
        found.update(User.objects.filter(email__in=emails[start : start + _BATCH]).values_list("email", "id"))
    return found


@demo_loader(order=10)
def staff_and_teams(*, seed: int, sizes: DemoSizes, stdout: DemoOutput) -> dict[str, int]:
    """Teams through team_create/team_update (an event each); staff users, roles and memberships in bulk.

    The bulk part writes one summary event on the head office team. Users whose email exists and teams
    whose name exists are left as they are, so a second run with the same seed adds nothing.
    """
    plan = demo_teams(count=sizes.teams)
    staff = list(demo_staff(seed=seed, count=sizes.users, teams=plan))
    existing = _existing_emails([s.person.email for s in staff])
    new_staff = [s for s in staff if s.person.email not in existing]
    stdout.write(f"  staff: {len(new_staff)} new of {len(staff)} planned; {len(plan)} teams planned\n")

    now = timezone.now()
    joined = {days: connection.ops.adapt_datetimefield_value(now - timedelta(days=days)) for days in range(4000)}
    columns = ("email", "full_name", "phone", "language", "password")
    flags = ("is_active", "is_staff", "is_superuser", "failed_logins", "date_joined")
    insert_rows(
        model=User,
        fields=(*columns, *flags),
        rows=(
            (
                p.email,
                p.full_name,
                p.phone,
                p.language,
                sizes.password_hash,
                True,
                False,
                False,
                0,
                joined[s.joined_days_ago],
            )
            for s in new_staff
            for p in (s.person,)
        ),
    )
    user_ids = _user_ids([s.person.email for s in new_staff])
    groups = dict(Group.objects.filter(name__in=[*_FUNCTION_WEIGHTS, "manager"]).values_list("name", "id"))
    role_rows = insert_rows(
        model=User.groups.through,
        fields=("user", "group"),
        rows=((user_ids[s.person.email], groups[role]) for s in new_staff for role in s.roles),
    )

    planned_managers = {s.person.email: s.manages for s in staff if s.manages is not None}
    found = User.objects.in_bulk(list(planned_managers), field_name="email")  # batched below the parameter limit
    managers = {planned_managers[email]: user for email, user in found.items()}
    teams = {team.name: team for team in Team.objects.filter(name__in=[t.name for t in plan])}
    created = updated = 0
    objects: dict[int, Team] = {}
    for item in plan:
        team = teams.get(item.name)
        if team is None:
            parent = objects.get(item.parent) if item.parent is not None else None
            team = team_create(name=item.name, parent=parent, manager=managers.get(item.index), actor=None)
            created += 1
        elif team.manager_id is None and item.index in managers:
            team = team_update(team=team, manager=managers[item.index], actor=None)
            updated += 1
        objects[item.index] = team
    member_rows = insert_rows(
        model=Team.members.through,
        fields=("team", "user"),
        rows=((objects[s.team].pk, user_ids[s.person.email]) for s in new_staff),
    )
    if new_staff:
        record_event(
            obj=objects[0],
            action="demo_staff_added",
            actor=None,
            data={"seed": seed, "users": len(new_staff), "role_grants": role_rows, "memberships": member_rows},
        )
    return {
        "users created": len(new_staff),
        "users already there": len(existing),
        "teams created": created,
        "teams given a manager": updated,
    }


def demo_run(
    *, seed: int, sizes: DemoSizes, stdout: DemoOutput
) -> Iterator[tuple[RegisteredLoader, Mapping[str, int]]]:
    """Run every registered loader in order, each in its own transaction, yielding what each one did as it ends."""
    for loader in demo_loaders():
        with transaction.atomic():
            result = loader.fn(seed=seed, sizes=sizes, stdout=stdout)
        yield loader, result
