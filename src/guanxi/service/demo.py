"""Demo service desk: a mainland-China calendar with the official days, queues per service team, SLA
policies, canned replies in Chinese and English, and a year of tickets on the demo customers with replies,
waits, resolutions and SLA outcomes (some answered late and breached).

Every ticket goes through the services with past times, so measures and events are as real use makes them.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from guanxi.core.demo import DemoOutput, DemoSizes, demo_loader
from guanxi.core.models import User
from guanxi.customers.models import Contact

from . import services
from .models import BusinessCalendar, CannedResponse, Priority, Queue, SlaPolicy, Status, Ticket

CST = ZoneInfo("Asia/Shanghai")
HAN = re.compile(r"[\u4e00-\u9fff]")
SUBJECTS = {
    "zh-hans": [
        ("发票无法下载", "billing"),
        ("账号登录失败", "account"),
        ("订单一直显示处理中", "order"),
        ("设备无法联网", "technical"),
        ("申请退款", "billing"),
        ("修改收货地址", "order"),
        ("系统报错 500", "technical"),
        ("密码重置邮件收不到", "account"),
        ("投诉：产品质量问题", "complaint"),
    ],
    "en": [
        ("Cannot download the invoice", "billing"),
        ("Login fails", "account"),
        ("Order stuck in processing", "order"),
        ("Device cannot connect", "technical"),
        ("Refund request", "billing"),
        ("Change the delivery address", "order"),
        ("Error 500 in the portal", "technical"),
        ("Password reset email not received", "account"),
        ("Complaint about product quality", "complaint"),
    ],
}
BODIES = {
    "zh-hans": "您好，{subject}，请尽快帮忙处理，谢谢。",
    "en": "Hello, {subject}. Please help as soon as possible.",
}
REPLIES = {
    "zh-hans": [
        "您好，已收到您的问题，我们正在处理。",
        "请提供订单号或截图，方便我们排查。",
        "问题已解决，请再试一次。",
    ],
    "en": [
        "Hello, we received your request and are on it.",
        "Could you send the order number or a screenshot?",
        "This is fixed now, please try again.",
    ],
}
CHANNELS = ["email", "email", "phone", "phone", "web_form", "chat", "portal", "social", "visit", "api"]


def _setup(agents: list[User]) -> tuple[BusinessCalendar, Queue]:
    calendar = BusinessCalendar.objects.filter(name="中国大陆 Mainland China").first()
    if calendar is None:
        calendar = services.calendar_save(
            actor=None,
            name="中国大陆 Mainland China",
            time_zone="Asia/Shanghai",
            hours=BusinessCalendar._meta.get_field("hours").get_default(),
        )
        year = timezone.localdate().year
        for y in (year - 1, year, year + 1):
            try:
                services.calendar_load_china(actor=None, calendar=calendar, year=y)
            except ValidationError:  # a year the installed data does not cover yet
                continue
    queue = Queue.objects.filter(is_default=True).first()
    if queue is None:
        team = agents[0].teams.order_by("id").first() if agents else None
        queue = services.queue_save(
            actor=None,
            name="售后支持 Support",
            team=team,
            categories=[],
            assignment=Queue.Assignment.ROUND_ROBIN,
            is_default=True,
            agents=agents,
        )
        billing = services.queue_save(
            actor=None,
            name="账单 Billing",
            team=team,
            categories=["billing"],
            assignment=Queue.Assignment.LEAST_LOADED,
            is_default=False,
            agents=agents[: max(1, len(agents) // 2)],
        )
        services.assignment_rule_save(actor=None, order=10, category="billing", tier="", queue=billing)
    if not SlaPolicy.objects.exists():
        for order, name, priority, first, resolution, escalate in [
            (10, "紧急 Urgent", Priority.URGENT, 30, 240, True),
            (20, "高 High", Priority.HIGH, 60, 480, True),
            (30, "战略客户 Strategic", "", 60, 960, False),
            (90, "标准 Standard", "", 240, 1440, False),
        ]:
            services.sla_policy_save(
                actor=None,
                name=name,
                order=order,
                priority=priority,
                tier="strategic" if order == 30 else "",
                category="",
                calendar=calendar,
                first_response_minutes=first,
                resolution_minutes=resolution,
                warn_before_minutes=min(30, first // 2),
                notify=True,
                raise_priority=escalate,
                escalate_queue=None,
                escalate_user=None,
                active=True,
            )
    if not CannedResponse.objects.exists():
        services.canned_response_save(
            actor=None,
            title="问候 Greeting (中文)",
            language="zh-hans",
            category="",
            body="{customer_name}您好，工单 {ticket_number} 已收到，{agent_name}将为您处理。",
        )
        services.canned_response_save(
            actor=None,
            title="Greeting (English)",
            language="en",
            category="",
            body="Dear {customer_name}, we received ticket {ticket_number}. {agent_name} will take care of it.",
        )
        services.canned_response_save(
            actor=None,
            title="请补充信息 Need details",
            language="",
            category="",
            body="请提供更多信息 / Please send more details: {subject}",
        )
    return calendar, queue


def _working_instant(rng: random.Random, day: datetime) -> datetime:
    minute = rng.randint(9 * 60, 17 * 60 + 30)
    return datetime.combine(day.date(), time(minute // 60, minute % 60), tzinfo=CST)


@demo_loader(order=40)
def service_demo(*, seed: int, sizes: DemoSizes, stdout: DemoOutput) -> dict[str, int]:
    """A year of tickets, about one per five customers, most resolved, some breached, the recent ones open."""
    agents = list(User.objects.filter(groups__name="service", is_active=True).order_by("id")[:40])
    contacts = list(Contact.objects.filter(archived_at__isnull=True).exclude(email="").order_by("id")[:5000])
    if not agents or not contacts:
        return {}
    _setup(agents)
    target = max(20, sizes.customers // 5)
    if Ticket.objects.count() >= target:
        return {}
    rng = random.Random(f"{seed}:service")
    now = timezone.now()
    counts = {"tickets created": 0, "replies": 0, "breached": 0}
    for index in range(target):
        contact = contacts[(index * 7919) % len(contacts)]
        language = "zh-hans" if HAN.search(contact.full_name) else "en"
        subject, category = rng.choice(SUBJECTS[language])
        age_days = 365 * (1 - index / target) ** 1.3  # more tickets recently
        opened = _working_instant(rng, now.astimezone(CST) - timedelta(days=age_days))
        if opened >= now:
            opened = now - timedelta(minutes=rng.randint(5, 600))
        agent = agents[index % len(agents)]
        with transaction.atomic():
            ticket = services.ticket_create(
                actor=None,
                subject=subject,
                body=BODIES[language].format(subject=subject),
                channel=rng.choice(CHANNELS),
                contact=contact,
                email=contact.email,
                category=category,
                priority=rng.choice(["low", "normal", "normal", "normal", "high", "urgent"]),
                language=language,
                opened_at=opened,
            )
            counts["tickets created"] += 1
            if ticket.owner is None:
                services.ticket_assign(ticket=ticket, assignee=agent, actor=None)
            agent = ticket.owner or agent
            late = rng.random() < 0.12
            delay = timedelta(minutes=rng.randint(5, 50) if not late else rng.randint(300, 3000))
            reply_at = opened + delay
            if reply_at >= now:
                continue  # still waiting for its first answer
            if late and ticket.sla_due and ticket.sla_due < reply_at:
                services._breach_one(ticket, ticket.sla_due)
                counts["breached"] += 1
            wait = rng.random() < 0.3
            services.ticket_reply(
                ticket=ticket,
                actor=agent,
                body=REPLIES[language][1 if wait else 0],
                wait_on_customer=wait,
                time_spent_seconds=rng.randint(60, 900),
                at=reply_at,
            )
            counts["replies"] += 1
            moment = reply_at
            if wait:
                moment = moment + timedelta(hours=rng.randint(1, 30))
                if moment >= now:
                    continue
                services.ticket_customer_reply(
                    ticket=ticket, body=f"订单号 / order no. 2025-{index:04d}", from_email=contact.email, at=moment
                )
                moment = moment + timedelta(minutes=rng.randint(10, 120))
                if moment >= now:
                    continue
                services.ticket_reply(
                    ticket=ticket,
                    actor=agent,
                    body=REPLIES[language][2],
                    time_spent_seconds=rng.randint(60, 600),
                    at=moment,
                )
                counts["replies"] += 1
            resolve_at = moment + timedelta(minutes=rng.randint(5, 240))
            if resolve_at < now and rng.random() < 0.9:
                services.ticket_set_status(ticket=ticket, status=Status.RESOLVED, actor=agent, at=resolve_at)
                if resolve_at + timedelta(days=3) < now:
                    services.ticket_set_status(
                        ticket=ticket, status=Status.CLOSED, actor=agent, at=resolve_at + timedelta(days=3)
                    )
    return counts


PORTAL_CUSTOMERS = 3  # the first Chinese- and English-named contacts with tickets, two and one


@demo_loader(order=44)
def portal_demo(*, seed: int, sizes: DemoSizes, stdout: DemoOutput) -> dict[str, int]:
    """Portal accounts for a few demo customers with tickets, signing in with the demo password (no email is
    sent: the demo has no mail server). A re-run finds the same contacts and adds nothing."""
    from guanxi.core.events import record_event
    from guanxi.customers.comparators import email_key

    from .models import PortalAccount

    wanted = {"zh-hans": 2, "en": 1}
    chosen: list[tuple[Contact, str]] = []
    with_tickets = Contact.objects.filter(ticket__isnull=False, archived_at__isnull=True).exclude(email="")
    for contact in with_tickets.distinct().order_by("id")[:200]:
        language = "zh-hans" if HAN.search(contact.full_name) else "en"
        if wanted.get(language, 0) > 0:
            wanted[language] -= 1
            chosen.append((contact, language))
        if len(chosen) == PORTAL_CUSTOMERS:
            break
    created = 0
    for contact, language in chosen:
        email = email_key(contact.email)
        if PortalAccount.objects.filter(contact=contact).exists() or PortalAccount.objects.filter(email=email).exists():
            continue
        with transaction.atomic():
            account = PortalAccount.objects.create(
                contact=contact, email=email, password=sizes.password_hash, language=language, invited_at=timezone.now()
            )
            record_event(obj=account, action="portal_invited", actor=None, data={"contact": contact.pk, "new": True})
        created += 1
    accounts = ", ".join(email_key(contact.email) for contact, _language in chosen)
    if accounts:
        stdout.write(f"  Customer portal (/portal/): {accounts} sign in with the demo password")
    return {"portal accounts": created} if created else {}


from . import kb_demo  # noqa: E402,F401  the knowledge base registers its own loader
