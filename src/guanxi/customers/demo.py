"""Demo customers: accounts, contacts linked to them and open leads, owned by the demo sales staff.

Every record goes through the customer services, so phones, emails and pinyin are cleaned the
same way as typed data and each record has its `created` event.
"""

from __future__ import annotations

import random
from typing import Any

from django.contrib.auth.models import Group

from guanxi.core.demo import INDUSTRIES, DemoOutput, DemoSizes, demo_companies, demo_loader, demo_people
from guanxi.core.models import ADMINISTRATOR, User

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
