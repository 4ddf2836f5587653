"""A contact as a vCard 3.0 card (RFC 2426), for address books and phones, with personal data as the reader
may see it."""

from __future__ import annotations

from typing import Any

import vobject

from guanxi.core.pii import pii_value

from .models import Contact


def contact_vcard(contact: Contact, *, viewer: Any) -> str:
    """The card of one contact: name parts, organisations with titles, phone, email and address; phone, email
    and street masked for a viewer without `view_pii`."""
    card = vobject.vCard()
    card.add("fn").value = contact.full_name
    card.add("n").value = vobject.vcard.Name(family=contact.surname, given=contact.given_name)
    if contact.phone:
        tel = card.add("tel")
        tel.value = pii_value(contact.phone, kind="phone", user=viewer)
        tel.type_param = "CELL"
    if contact.email:
        email = card.add("email")
        email.value = pii_value(contact.email, kind="email", user=viewer)
        email.type_param = "INTERNET"
    for link in contact.links.all():
        card.add("org").value = [link.account.name]
    if contact.title:
        card.add("title").value = contact.title
    if contact.province or contact.city or contact.district or contact.street:
        street = " ".join(part for part in (contact.district, contact.street) if part)
        card.add("adr").value = vobject.vcard.Address(
            street=pii_value(street, kind="text", user=viewer), city=contact.city, region=contact.province, country=""
        )
    card.add("uid").value = f"guanxi-contact-{contact.pk}"
    return str(card.serialize())
