"""The six roles exist with their default permissions, and an administrator's removal sticks."""

import pytest
from django.contrib.auth.models import Group, Permission

from guanxi.core.roles import ROLES, roles_sync

pytestmark = pytest.mark.django_db


def test_the_six_roles_are_created_by_migration():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)


def test_only_administrators_and_managers_see_personal_data_by_default():
    holders = set(Group.objects.filter(permissions__codename="view_pii").values_list("name", flat=True))
    assert holders == {"administrator", "manager"}


def test_a_permission_removed_from_a_role_is_not_given_back_by_the_next_sync():
    sales = Group.objects.get(name="sales")
    sales.permissions.remove(Permission.objects.get(codename="view_team"))
    roles_sync()
    assert not sales.permissions.filter(codename="view_team").exists()
    assert sales.permissions.filter(codename="view_user").exists()
