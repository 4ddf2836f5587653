"""The demo loads two years of deals with stage histories that the funnel reads, once."""

import pytest
from django.core.management import call_command
from django.db.models import Sum

from guanxi.core.models import ADMINISTRATOR, Event, User
from guanxi.sales import selectors
from guanxi.sales.models import Deal, DealProduct, DealStatus, Pipeline

pytestmark = pytest.mark.django_db


def test_the_demo_loads_deals_with_stage_histories_the_funnel_reads_once():
    """Deals come with product lines (the amount is their gross total) and stage histories; a rerun adds none."""
    call_command("demo", customers=200, seed=3, users=12)
    deals = Deal.objects.count()
    assert deals == 50
    gross = dict(DealProduct.objects.values("deal").annotate(total=Sum("gross_amount")).values_list("deal", "total"))
    assert len(gross) == deals
    assert all(deal.amount == gross[deal.pk] for deal in Deal.objects.all())
    assert set(Deal.objects.values_list("status", flat=True)) == {DealStatus.OPEN, DealStatus.WON, DealStatus.LOST}
    moved = Event.objects.filter(action="stage_changed", content_type__model="deal")
    assert moved.exists()
    lost = Deal.objects.filter(status=DealStatus.LOST).first()
    assert lost is not None and lost.lost_reason_id is not None and lost.closed_at is not None
    last_move = moved.filter(object_id=lost.pk).order_by("-occurred_at").first()
    assert last_move.data["to_stage"] == lost.stage_id
    admin = User.objects.filter(groups__name=ADMINISTRATOR).first()
    pipeline = Pipeline.objects.get(is_default=True)
    steps = [s for s in selectors.funnel(user=admin, pipeline=pipeline) if s.stage.kind == "open"]
    reached = [s.reached for s in steps]
    # every deal reached the first stage; later stages were reached by fewer
    assert reached == sorted(reached, reverse=True) and reached[0] == Deal.objects.filter(pipeline=pipeline).count()
    lines = DealProduct.objects.count()
    call_command("demo", customers=200, seed=3, users=12)
    assert Deal.objects.count() == deals and DealProduct.objects.count() == lines
