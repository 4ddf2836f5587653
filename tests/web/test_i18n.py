"""The three message catalogues are complete and every page speaks the reader's language."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

LOCALE = Path(settings.LOCALE_PATHS[0])
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
def test_every_message_is_translated_with_its_placeholders_kept(language):
    catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    untranslated = [e.msgid for e in catalogue if not e.translated() or "fuzzy" in e.flags]
    assert untranslated == []
    # Chinese has one plural form, used for every count: it carries the plural message's placeholders
    broken = [
        e.msgid
        for e in catalogue
        if set(PLACEHOLDER.findall(e.msgid_plural or e.msgid))
        != set(PLACEHOLDER.findall(e.msgstr or e.msgstr_plural.get(0, "")))
    ]
    assert broken == []


def test_the_english_catalogue_has_the_same_messages():
    def ids(language):
        return {e.msgid for e in polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))}

    assert ids("en") == ids("zh_Hans") == ids("zh_Hant")


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
def test_pages_render_in_the_users_language(make_user, login, language):
    user = make_user("administrator", language=language)
    page = login(user).get("/settings/users/").content.decode()
    with translation.override(language):
        for source in ("Home", "Users", "Notifications"):
            assert gettext(source) in page
        if language != "en":
            assert gettext("Users") != "Users"
