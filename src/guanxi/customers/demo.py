"""Demo customers: accounts, contacts linked to them and open leads, owned by the demo sales staff,
then a few custom fields and tags with values on some of them.

Every record goes through the customer services, so phones, emails and pinyin are cleaned the
same way as typed data and each record has its `created` event.
"""

from __future__ import annotations

import random
from typing import Any

from django.contrib.auth.models import Group

from guanxi.core import services as core_services
from guanxi.core.demo import INDUSTRIES, DemoOutput, DemoSizes, demo_companies, demo_loader, demo_people
from guanxi.core.models import ADMINISTRATOR, CustomField, Tag, User

from . import services
from .models import Account, Contact, Lead

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
