"""A contact downloads as a vCard that address books read, with personal data as the reader may see it."""

from __future__ import annotations

import pytest
import vobject
from django.urls import reverse

from guanxi.core.models import Event

from . import factories

pytestmark = pytest.mark.django_db


def _card(client, contact):
    response = client.get(reverse("contact-vcard", args=[contact.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/vcard")
    return vobject.readOne(response.content.decode())


def test_the_vcard_carries_name_company_phone_and_email_and_the_view_is_logged(make_user, login):
    admin = make_user("administrator")
    account = factories.account(owner=admin, name="上海云帆科技有限公司")
    contact = factories.contact(
        owner=admin,
        surname="张",
        given_name="伟",
        phone="138 0013 8000",
        email="zhang.wei@yunfan.example.cn",
        title="采购经理",
        accounts=[(account, "")],
    )
    card = _card(login(admin), contact)
    assert card.fn.value == "张伟" and card.n.value.family == "张" and card.n.value.given == "伟"
    assert card.tel.value == "+8613800138000" and card.email.value == "zhang.wei@yunfan.example.cn"
    assert card.org.value == ["上海云帆科技有限公司"] and card.title.value == "采购经理"
    assert Event.objects.filter(action="pii_viewed", object_id=contact.pk).exists()


def test_a_reader_without_personal_data_rights_gets_a_masked_card(make_user, login):
    sales = make_user("sales")  # sales staff work with masked phone numbers and addresses
    contact = factories.contact(
        owner=sales, surname="李", given_name="娜", phone="13900139000", email="li.na@example.com"
    )
    card = _card(login(sales), contact)
    assert card.fn.value == "李娜"
    assert card.tel.value != "+8613900139000" and "*" in card.tel.value
    assert card.email.value != "li.na@example.com"
