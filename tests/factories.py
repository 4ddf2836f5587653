"""Factories for core records. Later apps add theirs in tests/<app>/factories.py."""

import factory
from django.contrib.auth.models import Group

from guanxi.core.models import Job, Team, User

PASSWORD = "Correct-Horse-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name", locale="zh_CN")
    phone = factory.Sequence(lambda n: f"+86138{n:08d}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))
        if create:
            self.save()

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create and extracted:
            self.teams.set(extracted)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"团队 Team {n}")


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    kind = "core.audit_export"
    owner = factory.SubFactory(UserFactory)
