"""Demo customers: cleaned through the services, owned by sales staff, and loaded once however often it runs."""

import pytest
from django.core.management import call_command

from guanxi.core.models import CustomField, Event, Tag
from guanxi.customers.models import Account, Contact, Lead

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
