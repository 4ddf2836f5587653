"""Customer records are cleaned at the door, searchable by pinyin and phone, and converted with their history."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from guanxi.core.models import Event
from guanxi.customers import selectors, services
from guanxi.customers.models import Account, Contact, Lead, LifecycleStage

from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


# --- normalisation ----------------------------------------------------------------------------


def test_a_phone_written_with_spaces_is_stored_in_e164(make_user):
    """Given "138 0013 8000", the contact keeps "+8613800138000" and shows it in national format."""
    contact = factories.contact(owner=make_user("sales"), surname="张", given_name="伟", phone="138 0013 8000")
    assert contact.phone == "+8613800138000"
    assert contact.phone_display == "138 0013 8000"


def test_the_default_phone_region_is_a_setting(make_user, settings):
    settings.DEFAULT_PHONE_REGION = "US"
    contact = factories.contact(owner=make_user("sales"), given_name="John", phone="(415) 555-2671")
    assert contact.phone == "+14155552671"


def test_full_width_digits_are_understood(make_user):
    contact = factories.contact(owner=make_user("sales"), surname="张", given_name="伟", phone="１３８００１３８０００")
    assert contact.phone == "+8613800138000"


@pytest.mark.parametrize("phone", ["12345", "not a phone", "+86 138 0013"])
def test_a_bad_phone_is_rejected_naming_the_field(make_user, phone):
    with pytest.raises(ValidationError) as exc:
        factories.contact(owner=make_user("sales"), surname="张", given_name="伟", phone=phone)
    assert list(errors_of(exc)) == ["phone"]
    assert "not a valid phone number" in errors_of(exc)["phone"][0]
    assert not Contact.objects.exists()


def test_an_email_is_validated_and_its_domain_lower_cased(make_user):
    contact = factories.contact(
        owner=make_user("sales"), surname="张", given_name="伟", email=" Wei.Zhang@Example.COM "
    )
    assert contact.email == "Wei.Zhang@example.com"


@pytest.mark.parametrize("email", ["wei@", "wei at example.com", "wei@@example.com"])
def test_a_bad_email_is_rejected_naming_the_field(make_user, email):
    with pytest.raises(ValidationError) as exc:
        factories.contact(owner=make_user("sales"), surname="张", given_name="伟", email=email)
    assert list(errors_of(exc)) == ["email"]
    assert "not a valid email address" in errors_of(exc)["email"][0]


def test_every_bad_field_is_reported_at_once(make_user):
    with pytest.raises(ValidationError) as exc:
        services.lead_create(actor=make_user("sales"), surname="王", phone="12", email="x@", source="fax")
    assert set(errors_of(exc)) == {"phone", "email", "source"}


def test_the_error_message_is_in_the_users_language(make_user):
    """Messages go through gettext: Django's own model checks already answer in Chinese."""
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.lead_create(actor=make_user("sales"), surname="王", source="fax")
    assert errors_of(exc) == {"source": ["值 'fax' 不是有效选项。"]}


def test_a_contact_needs_a_name_and_a_phone_or_email(make_user):
    with pytest.raises(ValidationError) as exc:
        services.contact_create(actor=make_user("sales"), title="经理")
    assert {"surname", "given_name", "phone", "email"} <= set(errors_of(exc))


def test_an_account_needs_a_name(make_user):
    with pytest.raises(ValidationError) as exc:
        services.account_create(actor=make_user("sales"), name="  ")
    assert list(errors_of(exc)) == ["name"]


def test_a_lead_needs_a_person_or_a_company(make_user):
    with pytest.raises(ValidationError) as exc:
        services.lead_create(actor=make_user("sales"), phone="13800138000")
    assert "company_name" in errors_of(exc)


def test_chinese_names_join_without_a_space_and_latin_names_read_given_first(make_user):
    user = make_user("sales")
    assert factories.contact(owner=user, surname="张", given_name="伟").full_name == "张伟"
    assert factories.contact(owner=user, surname="Smith", given_name="John").full_name == "John Smith"


def test_pinyin_is_kept_for_search_with_surname_readings(make_user):
    user = make_user("sales")
    zhang = factories.contact(owner=user, surname="张", given_name="伟")
    shan = factories.contact(owner=user, surname="单", given_name="雄信")
    assert (zhang.name_pinyin, zhang.name_initials) == ("zhangwei", "zw")
    assert shan.name_pinyin == "shanxiongxin"


def test_a_valid_unified_social_credit_code_is_accepted_and_upper_cased(make_user):
    account = factories.account(owner=make_user("sales"), name="小米科技", registration_number="91110108551385082q")
    assert account.registration_number == "91110108551385082Q"


def test_an_unified_social_credit_code_with_a_wrong_check_digit_is_rejected(make_user):
    with pytest.raises(ValidationError) as exc:
        factories.account(owner=make_user("sales"), name="小米科技", registration_number="91110108551385082A")
    assert list(errors_of(exc)) == ["registration_number"]


def test_other_registration_numbers_are_kept_as_typed(make_user):
    account = factories.account(owner=make_user("sales"), name="ACME Ltd", registration_number="HRB 12345")
    assert account.registration_number == "HRB12345"


def test_a_website_without_a_scheme_gets_https(make_user):
    assert factories.account(owner=make_user("sales"), website="mi.com").website == "https://mi.com"


# --- writes record events ---------------------------------------------------------------------


def test_create_and_update_record_events_with_field_changes(make_user):
    user = make_user("sales")
    contact = factories.contact(owner=user, surname="张", given_name="伟", phone="13800138000")
    services.contact_update(contact=contact, actor=user, phone="139 0000 0000", title="采购经理")
    created, updated = Event.objects.for_object(contact).order_by("id")
    assert created.action == "created" and created.changes["phone"] == [None, "+8613800138000"]
    assert updated.changes == {"phone": ["+8613800138000", "+8613900000000"], "title": ["", "采购经理"]}


def test_the_lifecycle_stage_cannot_be_typed(make_user):
    user = make_user("sales")
    contact = factories.contact(owner=user)
    with pytest.raises(ValidationError) as exc:
        services.contact_update(contact=contact, actor=user, lifecycle_stage="customer")
    assert list(errors_of(exc)) == ["lifecycle_stage"]


def test_linking_a_contact_to_accounts_with_roles_is_recorded(make_user):
    user = make_user("sales")
    account = factories.account(owner=user)
    contact = factories.contact(owner=user)
    services.contact_update(contact=contact, actor=user, accounts=[(account, "采购经理")])
    assert list(contact.links.values_list("account_id", "role")) == [(account.pk, "采购经理")]
    event = Event.objects.for_object(contact).first()
    assert event.changes["accounts"] == [[], [{"account": account.pk, "role": "采购经理"}]]


def test_archiving_hides_a_record_but_keeps_its_history(make_user):
    user = make_user("administrator")
    account = factories.account(owner=user)
    services.account_archive(account=account, actor=user)
    assert not selectors.accounts_visible_to(user).filter(pk=account.pk).exists()
    assert [e.action for e in Event.objects.for_object(account).order_by("id")] == ["created", "archived"]


def test_a_lead_cannot_be_set_to_converted_by_hand(make_user):
    user = make_user("sales")
    lead = factories.lead(owner=user)
    with pytest.raises(ValidationError) as exc:
        services.lead_update(lead=lead, actor=user, status="converted")
    assert list(errors_of(exc)) == ["status"]
    services.lead_update(lead=lead, actor=user, status="working")
    assert Event.objects.for_object(lead).first().action == "status_changed"


# --- search -----------------------------------------------------------------------------------


def test_zhang_wei_is_found_by_characters_full_pinyin_and_initials(make_user):
    user = make_user("sales")
    zhang = factories.contact(owner=user, surname="张", given_name="伟")
    factories.contact(owner=user, surname="李", given_name="娜")
    for q in ("张伟", "zhangwei", "zw", "ZhangWei", "zhang wei"):
        assert [c.pk for c in selectors.contacts_search(user=user, q=q)] == [zhang.pk], q


def test_a_phone_fragment_finds_the_contact_for_those_who_may_see_phones(make_user):
    manager = make_user("manager")
    zhang = factories.contact(owner=manager, surname="张", given_name="伟", phone="13800138000")
    factories.contact(owner=manager, surname="李", given_name="娜", phone="13912345678")
    for q in ("0013", "138-0013", "138 0013 8000", "+86 138"):
        assert [c.pk for c in selectors.contacts_search(user=manager, q=q)] == [zhang.pk], q


def test_without_view_pii_only_a_whole_phone_or_email_matches(make_user):
    sales = make_user("sales")
    zhang = factories.contact(owner=sales, surname="张", given_name="伟", phone="13800138000", email="zw@example.com")
    assert list(selectors.contacts_search(user=sales, q="0013")) == []
    assert list(selectors.contacts_search(user=sales, q="example.com")) == []
    assert [c.pk for c in selectors.contacts_search(user=sales, q="138 0013 8000")] == [zhang.pk]
    assert [c.pk for c in selectors.contacts_search(user=sales, q="ZW@Example.com")] == [zhang.pk]


def test_search_finds_by_company_name_and_registration_number(make_user):
    user = make_user("sales")
    xiaomi = factories.account(owner=user, name="小米科技", registration_number="91110108551385082Q")
    contact = factories.contact(owner=user, accounts=[(xiaomi, "")])
    assert [c.pk for c in selectors.contacts_search(user=user, q="小米")] == [contact.pk]
    assert [c.pk for c in selectors.contacts_search(user=user, q="xiaomi")] == [contact.pk]
    assert [a.pk for a in selectors.accounts_search(user=user, q="551385")] == [xiaomi.pk]
    assert [a.pk for a in selectors.accounts_search(user=user, q="xmkj")] == [xiaomi.pk]


def test_search_is_scoped_to_what_the_user_may_see(make_user):
    mine, theirs = make_user("sales"), make_user("sales")
    factories.contact(owner=theirs, surname="张", given_name="伟")
    assert list(selectors.contacts_search(user=mine, q="zw")) == []
    assert selectors.customers_search(user=mine, q="张伟") == []


def test_the_one_search_box_ranks_exact_names_first_across_record_types(make_user):
    user = make_user("sales")
    factories.contact(owner=user, surname="张", given_name="伟强")
    exact = factories.contact(owner=user, surname="张", given_name="伟")
    factories.lead(owner=user, surname="张", given_name="伟", company_name="")
    hits = selectors.customers_search(user=user, q="张伟")
    assert (hits[0].type, hits[0].id) == ("contact", exact.pk)
    assert {h.type for h in hits} == {"contact", "lead"}


# --- lead conversion --------------------------------------------------------------------------


def test_converting_a_lead_creates_a_contact_and_account_and_keeps_history(make_user):
    user = make_user("sales")
    lead = factories.lead(owner=user, surname="王", given_name="芳", company_name="小米科技", phone="13800138000")
    services.lead_update(lead=lead, actor=user, status="qualified")
    contact, account = services.lead_convert(lead=lead, actor=user)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED and lead.converted_account == account
    assert contact.converted_from == lead and contact.phone == "+8613800138000"
    assert account is not None and account.name == "小米科技"
    assert list(contact.accounts.all()) == [account]
    assert contact.lifecycle_stage == account.lifecycle_stage == LifecycleStage.PROSPECT
    assert contact.owner == account.owner == user
    timeline = [(e.content_type.model, e.action) for e in selectors.contact_history(contact)]
    assert timeline == [("lead", "converted"), ("contact", "created"), ("lead", "status_changed"), ("lead", "created")]
    assert Event.objects.for_object(lead).first().action == "converted"
    assert Event.objects.for_object(account).first().data == {"converted_from": lead.pk}


def test_converting_into_an_existing_account_links_it_and_moves_its_stage(make_user):
    user = make_user("sales")
    existing = factories.account(owner=user, name="华为")
    lead = factories.lead(owner=user, company_name="华为技术")
    contact, account = services.lead_convert(lead=lead, actor=user, account=existing)
    existing.refresh_from_db()
    assert account == existing and list(contact.accounts.all()) == [existing]
    assert existing.lifecycle_stage == LifecycleStage.PROSPECT
    assert Account.objects.count() == 1
    assert Event.objects.for_object(existing).first().action == "stage_changed"


def test_conversion_is_all_or_nothing(make_user, monkeypatch):
    """When the contact cannot be made, no account is left behind and the lead is untouched."""
    user = make_user("sales")
    lead = factories.lead(owner=user, company_name="小米科技")

    def fail(**kwargs):
        raise ValidationError({"phone": "boom"})

    monkeypatch.setattr(services, "_contact_create", fail)
    with pytest.raises(ValidationError):
        services.lead_convert(lead=lead, actor=user)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW
    assert not Account.objects.exists() and not Contact.objects.exists()
    assert not Event.objects.filter(action="converted").exists()


def test_a_lead_is_converted_only_once_and_needs_a_person(make_user):
    user = make_user("sales")
    lead = factories.lead(owner=user)
    services.lead_convert(lead=lead, actor=user)
    with pytest.raises(ValidationError) as exc:
        services.lead_convert(lead=lead, actor=user)
    assert list(errors_of(exc)) == ["status"]
    company_only = factories.lead(owner=user, surname="", given_name="", company_name="腾讯")
    with pytest.raises(ValidationError) as exc:
        services.lead_convert(lead=company_only, actor=user)
    assert "surname" in errors_of(exc)


def test_editing_a_contacts_accounts_keeps_links_the_editor_cannot_see(make_user):
    """A rep who cannot see an account must not silently unlink the contact from it."""
    from ..factories import TeamFactory

    rep = make_user("sales", teams=[TeamFactory()])
    outsider = make_user("sales", teams=[TeamFactory()])
    hidden = factories.account(actor=outsider, owner=outsider, team=outsider.teams.first())
    mine = factories.account(actor=rep, owner=rep, team=rep.teams.first())
    other_mine = factories.account(actor=rep, owner=rep, team=rep.teams.first())
    contact = factories.contact(actor=rep, owner=rep, team=rep.teams.first(), accounts=[(hidden, "CEO"), (mine, "")])
    services.contact_update(contact=contact, actor=rep, accounts=[(other_mine, "采购经理")])
    assert set(contact.links.values_list("account_id", flat=True)) == {hidden.pk, other_mine.pk}


def test_two_letter_initials_do_not_match_inside_longer_names(make_user):
    """“zw” finds 张伟 by initials, not a Latin company whose letters happen to run “…z w…”."""
    admin = make_user("administrator")
    firm = factories.account(actor=admin, name="Benitez & Woodward Technology Group")
    factories.contact(actor=admin, surname="Cruz", given_name="Carl", accounts=[(firm, "")])
    zhang = factories.contact(actor=admin, surname="张", given_name="伟")
    found = list(selectors.contacts_search(user=admin, q="zw"))
    assert found == [zhang]
    assert zhang in selectors.contacts_search(user=admin, q="wei"), "three letters still match inside a name"
