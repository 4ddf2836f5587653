"""Demo customers: cleaned through the services, owned by sales staff, and loaded once however often it runs."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from guanxi.core.models import CustomField, Event, Tag
from guanxi.customers.models import Account, Contact, Interaction, Lead

pytestmark = pytest.mark.django_db


def test_the_demo_loads_bilingual_customers_once(capsys):
    call_command("demo", customers=50, seed=3, users=12)
    counts = (Account.objects.count(), Contact.objects.count(), Lead.objects.count())
    assert counts == (5, 50, 10)
    names = list(Contact.objects.values_list("full_name", flat=True))
    assert any(" " in n for n in names) and any(" " not in n for n in names), "Chinese and English people"
    assert all(c.phone.startswith("+") for c in Contact.objects.all()), "phones stored in E.164"
    assert not Contact.objects.filter(owner__isnull=True).exists()
    call_command("demo", customers=50, seed=3, users=12)
    assert (Account.objects.count(), Contact.objects.count(), Lead.objects.count()) == counts


def test_the_demo_logs_years_of_interactions_in_the_customers_language(capsys):
    call_command("demo", customers=50, seed=3, users=12)
    logged = Interaction.objects.exclude(kind="task")
    assert logged.count() > 50, "several touches per customer"
    oldest = logged.order_by("occurred_at").first()
    assert oldest is not None and oldest.occurred_at < timezone.now() - timedelta(days=365), "reaching back years"
    assert logged.filter(done_by__isnull=False).count() == logged.count(), "each logged by someone"
    chinese = logged.filter(contact__full_name__regex=r"^[\u4e00-\u9fff]").first()
    english = logged.filter(contact__full_name__regex=r"^[A-Za-z]").first()
    assert chinese is not None and english is not None
    assert any("\u4e00" <= c <= "\u9fff" for c in chinese.subject), chinese.subject
    assert english.subject.isascii(), english.subject
    assert Interaction.objects.filter(kind="task", due_at__isnull=False).exists(), "open follow-up tasks"
    count = Interaction.objects.count()
    call_command("demo", customers=50, seed=3, users=12)
    assert Interaction.objects.count() == count, "loaded once"


def test_the_demo_defines_custom_fields_and_tags_and_fills_them_once():
    call_command("demo", customers=50, seed=3, users=12)
    assert set(CustomField.objects.values_list("record_type", "key")) == {
        ("contact", "membership"),
        ("account", "annual_purchasing"),
    }
    assert Tag.objects.count() == 4
    assert Contact.objects.filter(custom__has_key="membership").count() == 50
    assert all(a.custom["annual_purchasing"].endswith(".00") for a in Account.objects.all())
    events = Event.objects.count()
    call_command("demo", customers=50, seed=3, users=12)
    assert Event.objects.count() == events
