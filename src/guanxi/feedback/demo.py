"""Demo data: a year of feedback in Chinese and English (classified and routed by the services) with resolutions,
notifications and ratings, three surveys (NPS, CSAT, CES) and a year of their answers."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.utils import timezone

from guanxi.core.demo import DemoOutput, DemoSizes, demo_loader
from guanxi.core.models import User
from guanxi.customers.models import Contact

from . import seed_topics, services
from .models import Channel, FeedbackItem, Kind, RoutingRule, Survey, SurveyAnswer, SurveyInvitation

CHANNELS = [Channel.PORTAL, Channel.WEB_FORM, Channel.EMAIL, Channel.PHONE, Channel.VISIT]
RESOLUTIONS = [
    "已联系客户并补发",
    "已退款",
    "已转交产品团队改进",
    "We apologised and refunded the fee",
    "Fixed in the latest release",
]


@demo_loader(order=60)
def feedback_demo(*, seed: int, sizes: DemoSizes, stdout: DemoOutput) -> dict[str, int]:
    """About one feedback item per five customers and one survey answer per customer, over the last year."""
    if not sizes.customers or FeedbackItem.objects.exists():
        return {}
    rng = random.Random(f"{seed}:feedback")
    staff = list(User.objects.filter(is_active=True, groups__name__in=["service", "sales"]).distinct()[:20])
    contacts = list(Contact.objects.filter(archived_at__isnull=True).order_by("id")[: sizes.customers])
    if not staff or not contacts:
        return {}
    if not RoutingRule.objects.exists():
        RoutingRule.objects.create(name="投诉 4 小时 Complaints", kind=Kind.COMPLAINT, owner=staff[0], response_hours=4)
        RoutingRule.objects.create(name="其他 48 小时 Everything else", owner=staff[-1], response_hours=48)
    # the training seeds only: the held-out evaluation set must not reach the org's corrections and retraining
    texts = [t for sentences in seed_topics.SEED.values() for t in sentences]
    now = timezone.now()
    made = 0
    for _ in range(max(1, len(contacts) // 5)):
        contact = rng.choice(contacts)
        text = rng.choice(texts)
        english = text.isascii()
        item = services.feedback_create(
            kind=rng.choice([Kind.COMPLAINT, Kind.COMPLAINT, Kind.SUGGESTION, Kind.PRAISE, Kind.QUESTION]),
            channel=rng.choice(CHANNELS),
            text=text,
            contact=contact,
            language="en" if english else "zh-hans",
            actor=None,
        )
        created = now - timedelta(days=rng.randint(0, 364), minutes=rng.randint(0, 1440))
        fields: dict[str, Any] = {"created_at": created, "response_due_at": created + timedelta(hours=24)}
        if rng.random() < 0.8:
            responded = created + timedelta(hours=rng.uniform(0.5, 30))
            resolved = responded + timedelta(hours=rng.uniform(1, 72))
            fields.update(
                first_response_at=responded,
                resolved_at=resolved,
                resolution=rng.choice(RESOLUTIONS),
                status=FeedbackItem.Status.RESOLVED,
            )
            if rng.random() < 0.85:
                fields.update(
                    customer_notified_at=resolved,
                    closed_at=resolved + timedelta(hours=1),
                    status=FeedbackItem.Status.CLOSED,
                    customer_satisfied=rng.random() < 0.8,
                    rated_at=resolved + timedelta(hours=5),
                )
        FeedbackItem.objects.filter(pk=item.pk).update(**fields)
        made += 1
    surveys = [
        Survey.objects.create(
            name="NPS 季度调研", kind="nps", question=services.default_question("nps"), trigger="manual"
        ),
        Survey.objects.create(
            name="CSAT 工单回访", kind="csat", question=services.default_question("csat"), trigger="resolved"
        ),
        Survey.objects.create(
            name="CES 自助服务", kind="ces", question=services.default_question("ces"), trigger="manual"
        ),
    ]
    from .products import demo_product_ids

    products = demo_product_ids()  # the demo's sales products, when the sales demo made some
    answers = []
    for contact in contacts:
        survey = rng.choice(surveys)
        low, high = survey.score_range or (0, 10)
        bias = rng.random()
        score = high if bias < 0.45 else rng.randint(low, high)
        when = now - timedelta(days=rng.randint(0, 364))
        invitation = SurveyInvitation.objects.create(
            survey=survey,
            contact=contact,
            email=contact.email,
            nonce=f"demo{seed}-{contact.pk}",
            sent_at=when,
            answered_at=when,
        )
        answers.append(
            SurveyAnswer(
                invitation=invitation,
                survey=survey,
                kind=survey.kind,
                contact=contact,
                score=score,
                channel=rng.choice(CHANNELS),
                agent=rng.choice(staff),
                product_id=rng.choice(products) if products and rng.random() < 0.7 else 0,
                created_at=when,
            )
        )
    SurveyAnswer.objects.bulk_create(answers, batch_size=1000)
    services.score_rollup_rebuild()
    return {"feedback items": made, "survey answers": len(answers)}
