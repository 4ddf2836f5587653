"""`field__any=[…]`: the values as one parameter, with the same answer as `__in`, on text, ids and foreign keys."""

from __future__ import annotations

import pytest

from guanxi.customers.models import Contact

from ..customers import factories
from ..factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_any_answers_as_in_does_with_one_parameter_for_many_values() -> None:
    """Three contacts: `__any` over text, primary keys and a foreign key finds exactly what `__in` finds; an
    empty list finds nothing; two thousand values go to the database as one parameter, not two thousand."""
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    rep = UserFactory(roles=["sales"], teams=[north])
    a = factories.contact(owner=rep, team=north, phone="13800138001")
    b = factories.contact(owner=rep, team=south, phone="13800138002")
    factories.contact(owner=rep, team=north, phone="13800138003")
    phones = {"+8613800138001", "+8613800138002", "+8600000000000"}
    assert set(Contact.objects.filter(phone__any=phones)) == set(Contact.objects.filter(phone__in=phones)) == {a, b}
    assert set(Contact.objects.filter(pk__any={a.pk, b.pk})) == {a, b}
    assert set(Contact.objects.filter(team_id__any={south.pk})) == {b}
    assert not Contact.objects.filter(pk__any=set()).exists()
    many = Contact.objects.filter(pk__any=set(range(a.pk, a.pk + 2000)))
    _sql, params = many.query.sql_with_params()
    assert set(many) == set(Contact.objects.filter(pk__gte=a.pk)) and len(params) == 1
