"""Demo customers: accounts, contacts, open leads and years of interactions, owned by the demo sales staff,
then a few custom fields and tags with values on some of them.

Every record goes through the customer services, so phones, emails and pinyin are cleaned the
same way as typed data and each record has its `created` event.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group
from django.utils import timezone

from guanxi.core import services as core_services
from guanxi.core.demo import INDUSTRIES, DemoOutput, DemoSizes, demo_companies, demo_loader, demo_people
from guanxi.core.models import ADMINISTRATOR, CustomField, Tag, User

from . import services
from .models import Account, Contact, Interaction, Lead

ROLES_AT_ACCOUNT = ("采购经理", "总经理", "IT 主管", "Purchasing manager", "CEO", "Finance director")
TITLES = ("经理", "总监", "工程师", "Manager", "Director", "Engineer", "")


def _owners() -> list[User]:
    sales = list(User.objects.filter(groups__name="sales", is_active=True).order_by("id")[:200])
    if sales:
        return sales
    admin_group = Group.objects.filter(name=ADMINISTRATOR).first()
    return list(User.objects.filter(groups=admin_group).order_by("id")[:1])


def _industry_name(code: str, script: str, country: str) -> str:
    for known, hans, hant, english in INDUSTRIES:
        if known == code:
            return english if script == "en" else (hant if country == "TW" else hans)
    return code


@demo_loader(order=20)
def customers_demo(*, seed: int, sizes: DemoSizes, stdout: DemoOutput) -> dict[str, int]:
    """About one account per ten contacts, contacts linked to them with a role, and one lead per five contacts."""
    owners = _owners()
    if not sizes.customers or not owners:
        return {}
    rng = random.Random(f"{seed}:customers")
    company_count = max(1, sizes.customers // 10)
    known_accounts = set(Account.objects.values_list("name", flat=True))
    accounts: list[Account] = []
    created = {"accounts created": 0, "contacts created": 0, "leads created": 0}
    for company in demo_companies(seed=seed, count=company_count, stream="customer-companies"):
        if company.name in known_accounts:
            continue
        owner = owners[company.index % len(owners)]
        account = services.account_create(
            actor=owner,
            owner=owner,
            name=company.name,
            industry=_industry_name(company.industry, company.script, company.country),
            province=company.province,
            city=company.city,
            tier=rng.choice(["strategic", "key", "standard", "standard", "small"]),
        )
        known_accounts.add(company.name)
        accounts.append(account)
        created["accounts created"] += 1
    accounts = accounts or list(Account.objects.order_by("id")[:company_count])
    people = list(demo_people(seed=seed, count=sizes.customers, stream="customer-contacts"))
    known_emails = set(Contact.objects.filter(email__in=[p.email for p in people]).values_list("email", flat=True))
    for person in people:
        if person.email in known_emails:
            continue
        owner = owners[person.index % len(owners)]
        links: list[tuple[Account, str]] = []
        if accounts and rng.random() < 0.8:
            links = [(accounts[person.index % len(accounts)], rng.choice(ROLES_AT_ACCOUNT))]
        fields: dict[str, Any] = {
            "surname": person.surname,
            "given_name": person.given_name,
            "phone": person.phone,
            "email": person.email,
            "title": rng.choice(TITLES),
        }
        services.contact_create(actor=owner, owner=owner, accounts=links, **fields)
        created["contacts created"] += 1
    leads = list(demo_people(seed=seed, count=max(1, sizes.customers // 5), stream="customer-leads"))
    known_leads = set(Lead.objects.filter(email__in=[p.email for p in leads]).values_list("email", flat=True))
    sources = [choice for choice, _label in Lead.Source.choices]
    companies = list(demo_companies(seed=seed, count=len(leads), stream="lead-companies"))
    for person, company in zip(leads, companies, strict=True):
        if person.email in known_leads:
            continue
        owner = owners[person.index % len(owners)]
        services.lead_create(
            actor=owner,
            owner=owner,
            surname=person.surname,
            given_name=person.given_name,
            company_name=company.name,
            phone=person.phone,
            email=person.email,
            source=rng.choice(sources),
        )
        created["leads created"] += 1
    return created


# --- interactions ----------------------------------------------------------------------------------

# (kind, channel, direction, Chinese subject, English subject, Chinese outcome, English outcome)
_TOUCHES = (
    (
        "call",
        "phone",
        "outbound",
        "电话回访",
        "Follow-up call",
        "客户有意向，下周再联系",
        "Interested, call again next week",
    ),
    (
        "call",
        "phone",
        "inbound",
        "客户来电咨询价格",
        "Customer called about pricing",
        "已发送报价单",
        "Price list sent",
    ),
    (
        "email",
        "email",
        "outbound",
        "发送产品资料",
        "Sent product brochure",
        "客户已回复确认",
        "Customer confirmed receipt",
    ),
    ("email", "email", "inbound", "询问交货周期", "Question about lead times", "已答复：四周", "Answered: four weeks"),
    (
        "meeting",
        "in_person",
        "outbound",
        "年度合作洽谈",
        "Annual partnership meeting",
        "同意试用三个月",
        "Agreed to a 3-month trial",
    ),
    ("visit", "in_person", "outbound", "上门拜访", "On-site visit", "见到采购负责人", "Met the purchasing lead"),
    ("chat", "wechat", "inbound", "微信咨询售后", "WeChat question about support", "已转售后处理", "Passed to support"),
    ("social", "social", "inbound", "微博留言", "Comment on our social page", "已私信回复", "Replied privately"),
    ("note", "", "internal", "客户背景备注", "Background note", "", ""),
)
_TASKS = (("准备报价单", "Prepare a quote"), ("安排演示", "Schedule a demo"), ("回访满意度", "Check satisfaction"))
_DEMO_YEARS = 3


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def _touch(rng: random.Random, record: Account | Contact | Lead, now: Any) -> dict[str, Any]:
    kind, channel, direction, zh_subject, en_subject, zh_outcome, en_outcome = rng.choice(_TOUCHES)
    chinese = _is_chinese(str(record))
    minutes = rng.choice([None, 5, 10, 15, 30, 45, 60, 90]) if kind in ("call", "meeting", "visit") else None
    return {
        "kind": kind,
        "channel": channel,
        "direction": direction,
        "occurred_at": now - timedelta(days=rng.uniform(0, 365 * _DEMO_YEARS)),
        "duration": minutes,
        "subject": zh_subject if chinese else en_subject,
        "outcome": zh_outcome if chinese else en_outcome,
    }


@demo_loader(order=30)
def interactions_demo(*, seed: int, sizes: DemoSizes, stdout: DemoOutput) -> dict[str, int]:
    """Three years of calls, emails, meetings, visits, chats and notes with each customer, and some open tasks.

    Each goes through the interaction service, by the record's owner, so the timeline and the history read
    as if the sales staff had logged them. They are loaded once: a database that has interactions gets no more.
    """
    if not sizes.customers or Interaction.objects.exists():
        return {}
    rng = random.Random(f"{seed}:interactions")
    now = timezone.now()
    logged = {"interactions logged": 0, "tasks created": 0}
    records: list[Account | Contact | Lead] = [
        *Contact.objects.select_related("owner").order_by("id")[: sizes.customers],
        *Account.objects.select_related("owner").order_by("id")[: sizes.customers // 10],
        *Lead.objects.select_related("owner").order_by("id")[: sizes.customers // 5],
    ]
    for record in records:
        for _touch_index in range(rng.choice([0, 1, 2, 3, 4, 6, 8])):
            services.interaction_log(actor=record.owner, about=record, **_touch(rng, record, now))
            logged["interactions logged"] += 1
        if rng.random() < 0.15:
            zh_task, en_task = rng.choice(_TASKS)
            services.interaction_log(
                actor=record.owner,
                about=record,
                kind="task",
                subject=zh_task if _is_chinese(str(record)) else en_task,
                due_at=now + timedelta(days=rng.randint(-3, 14), hours=rng.randint(0, 8)),
                assignee=record.owner,
            )
            logged["tasks created"] += 1
    return logged


DEMO_FIELDS: list[dict[str, Any]] = [
    {
        "record_type": "contact",
        "key": "membership",
        "label": "会员等级",
        "label_en": "Membership level",
        "kind": "choice",
        "choices": ["regular | 普通会员", "silver | 银卡会员", "gold | 金卡会员", "diamond | 钻石会员"],
        "help_text": "",
    },
    {
        "record_type": "account",
        "key": "annual_purchasing",
        "label": "年采购额",
        "label_en": "Annual purchasing",
        "kind": "money",
        "rules": {"min": "0"},
    },
]
DEMO_TAGS = [("重点客户", "red"), ("华东", "azure"), ("展会线索", "orange"), ("续约 Renewal", "green")]
DEMO_VALUED = 200  # records of each type that get custom values and tags


@demo_loader(order=25)
def custom_fields_demo(*, seed: int, sizes: DemoSizes, stdout: DemoOutput) -> dict[str, int]:
    """Two custom fields (a contact's membership level, an account's annual purchasing) and four tags,
    with values on up to 200 contacts and accounts that have none yet."""
    created = {"custom fields defined": 0, "tags created": 0, "records given values": 0}
    for definition in DEMO_FIELDS:
        if not CustomField.objects.filter(record_type=definition["record_type"], key=definition["key"]).exists():
            core_services.custom_field_create(actor=None, **definition)
            created["custom fields defined"] += 1
    for name, colour in DEMO_TAGS:
        if not Tag.objects.filter(name_key=name.casefold()).exists():
            core_services.tag_create(name=name, colour=colour, actor=None)
            created["tags created"] += 1
    rng = random.Random(f"{seed}:custom-values")
    levels = ["regular", "regular", "regular", "silver", "silver", "gold", "diamond"]
    contacts = Contact.objects.filter(archived_at__isnull=True).exclude(custom__has_key="membership")
    for contact in contacts.select_related("owner").order_by("id")[:DEMO_VALUED]:
        east = [DEMO_TAGS[1][0]] if rng.random() < 0.3 else None
        services.contact_update(
            contact=contact, actor=contact.owner, custom={"membership": rng.choice(levels)}, tags=east
        )
        created["records given values"] += 1
    accounts = Account.objects.filter(archived_at__isnull=True).exclude(custom__has_key="annual_purchasing")
    for account in accounts.select_related("owner").order_by("id")[:DEMO_VALUED]:
        amount = f"{rng.randrange(50, 50000) * 1000}.00"
        tags = [DEMO_TAGS[0][0]] if account.tier == Account.Tier.STRATEGIC else None
        if tags and rng.random() < 0.5:
            tags.append(DEMO_TAGS[3][0])
        services.account_update(account=account, actor=account.owner, custom={"annual_purchasing": amount}, tags=tags)
        created["records given values"] += 1
    return created
