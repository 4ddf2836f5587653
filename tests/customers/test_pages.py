"""Customer pages: lists with search and empty states, masked personal data, forms that name bad fields, conversion."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.customers.models import Contact, Lead

from . import factories

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def sales(make_user):
    return make_user("sales", language="en")


def test_an_empty_contact_list_says_what_to_do_next(sales, login):
    page = login(sales).get(reverse("contact-list")).content.decode()
    assert "No contacts yet." in page and "New contact" in page


def test_the_contact_list_finds_by_pinyin_and_masks_phones(sales, login):
    factories.contact(owner=sales, surname="张", given_name="伟", phone="13800138000")
    factories.contact(owner=sales, surname="李", given_name="娜")
    page = login(sales).get(reverse("contact-list"), {"q": "zw"}).content.decode()
    assert "张伟" in page and "李娜" not in page
    assert "138****8000" in page and "138 0013 8000" not in page


def test_the_contact_list_does_not_query_per_row(sales, login):
    client = login(sales)
    account = factories.account(owner=sales)
    factories.contact(owner=sales, accounts=[(account, "")])
    client.get(reverse("contact-list"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("contact-list"))
    for _ in range(4):
        factories.contact(owner=sales, accounts=[(account, "")])
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("contact-list"))
    assert len(many) == len(few)


def test_a_bad_phone_in_the_form_is_shown_on_the_phone_field(sales, login):
    response = login(sales).post(reverse("contact-create"), {"surname": "张", "given_name": "伟", "phone": "12345"})
    assert response.status_code == 200
    assert "is not a valid phone number" in response.content.decode()
    assert response.context["form"].errors["phone"]
    assert not Contact.objects.exists()


def test_creating_a_contact_in_the_form_shows_its_detail_with_its_timeline(sales, login):
    client = login(sales)
    response = client.post(reverse("contact-create"), {"surname": "张", "given_name": "伟", "phone": "138 0013 8000"})
    contact = Contact.objects.get()
    assert response.status_code == 302 and response.url == contact.get_absolute_url()
    page = client.get(contact.get_absolute_url()).content.decode()
    assert "Timeline" in page and "created" in page


def test_converting_a_lead_in_the_browser(sales, login):
    lead = factories.lead(owner=sales, surname="王", given_name="芳", company_name="小米科技")
    client = login(sales)
    assert "Convert" in client.get(lead.get_absolute_url()).content.decode()
    response = client.post(reverse("lead-convert", args=[lead.pk]))
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    assert response.status_code == 302 and response.url == lead.converted_contact.get_absolute_url()
    page = client.get(response.url).content.decode()
    assert "小米科技" in page and "converted" in page


def test_the_one_search_page_lists_every_kind_of_record(sales, login):
    factories.account(owner=sales, name="张伟贸易")
    factories.contact(owner=sales, surname="张", given_name="伟")
    page = login(sales).get(reverse("customer-search"), {"q": "zhangwei"}).content.decode()
    assert "张伟贸易" in page and ">张伟<" in page
