"""Forms for core pages. They validate shape; services enforce the business rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .backends import user_is_locked
from .models import ImportTemplate, Team, User
from .roles import ROLES, permission_label


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the named field when the form has it."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for field, messages in errors.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


class LoginForm(AuthenticationForm):
    """Email + password; says plainly when the account is locked after too many failures."""

    username = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True}))

    error_messages = {
        "invalid_login": _("The email or password is not correct."),
        "inactive": _("This account is inactive."),
        "locked": _("Too many failed attempts. This account is locked for %(minutes)s minutes."),
    }

    def clean(self) -> dict[str, Any]:
        email = (self.cleaned_data.get("username") or "").strip().lower()
        user = User.objects.filter(email=email).first() if email else None
        if user is not None and not user.is_active and user.check_password(self.cleaned_data.get("password") or ""):
            raise ValidationError(self.error_messages["inactive"], code="inactive")
        if user is not None and user_is_locked(user):
            raise ValidationError(
                self.error_messages["locked"], code="locked", params={"minutes": settings.LOGIN_LOCKOUT_MINUTES}
            )
        try:
            return super().clean()
        except ValidationError:
            if user is not None:
                user.refresh_from_db(fields=["locked_until"])
                if user_is_locked(user):
                    raise ValidationError(
                        self.error_messages["locked"],
                        code="locked",
                        params={"minutes": settings.LOGIN_LOCKOUT_MINUTES},
                    ) from None
            raise


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("Current password"), widget=forms.PasswordInput)
    new_password = forms.CharField(label=_("New password"), widget=forms.PasswordInput)
    new_password_again = forms.CharField(label=_("New password again"), widget=forms.PasswordInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("The two passwords do not match."))
        return data


def role_choices() -> list[tuple[str, Any]]:
    return list(ROLES.items())


class UserForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=[("", "—"), *settings.LANGUAGES], required=False)
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=role_choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    teams = forms.ModelMultipleChoiceField(
        label=_("Teams"), queryset=Team.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput,
        required=False,
        help_text=_(
            "For a new user: leave empty to let them in only after you set one. When editing: leave empty to keep it."
        ),
    )


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    parent = forms.ModelChoiceField(label=_("Parent team"), queryset=Team.objects.all(), required=False)
    manager = forms.ModelChoiceField(label=_("Manager"), queryset=User.objects.filter(is_active=True), required=False)
    members = forms.ModelMultipleChoiceField(
        label=_("Members"),
        queryset=User.objects.filter(is_active=True),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 10}),
    )


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)
    expires_at = forms.DateTimeField(
        label=_("Expires"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


def _object_type_choices() -> list[tuple[str, Any]]:
    from django.apps import apps

    audited = [m for m in apps.get_models() if m.__module__.startswith("guanxi.")] + [apps.get_model("auth", "Group")]
    types: list[tuple[str, Any]] = [(str(m._meta.model_name), m._meta.verbose_name) for m in audited]
    return [("", "—"), *sorted(types, key=lambda t: str(t[1]))]


def _action_choices() -> list[tuple[str, Any]]:
    from .events import ACTION_LABELS

    return [("", "—"), *ACTION_LABELS.items()]


class AuditFilterForm(forms.Form):
    actor = forms.ModelChoiceField(label=_("Actor"), queryset=User.objects.all(), required=False)
    object_type = forms.ChoiceField(label=_("Object type"), choices=_object_type_choices, required=False)
    action = forms.ChoiceField(label=_("Action"), choices=_action_choices, required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = dict(self.cleaned_data)
        data["actor"] = data["actor"].pk if data.get("actor") else None
        return {k: v for k, v in data.items() if v}


class PermissionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return permission_label(obj)


class RolePermissionsForm(forms.Form):
    permissions = PermissionChoiceField(
        label=_("Permissions"),
        queryset=Permission.objects.select_related("content_type").exclude(
            content_type__app_label__in=["contenttypes", "sessions", "admin"]
        ),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


# --- list views -------------------------------------------------------------------------------


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("View name"), max_length=100)
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    shared = forms.BooleanField(label=_("Share with my team"), required=False)
    is_default = forms.BooleanField(label=_("Open the list with this view"), required=False)
    replace_query = forms.BooleanField(label=_("Save the current filters, sort and columns in it"), required=False)


class ListExportForm(forms.Form):
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    format = forms.ChoiceField(label=_("Format"), choices=[("csv", "CSV"), ("xlsx", "XLSX")], initial="csv")


class BulkActionForm(forms.Form):
    action = forms.CharField(max_length=30)
    owner = forms.ModelChoiceField(
        label=_("New owner"),
        queryset=User.objects.filter(is_active=True),
        required=False,
        empty_label=_("— keep —"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    team = forms.ModelChoiceField(
        label=_("New team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label=_("— keep —"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )


# --- imports ----------------------------------------------------------------------------------


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (any common encoding, comma, semicolon or tab), Excel .xlsx, or vCard .vcf for contacts."),
    )
    record_type = forms.ChoiceField(label=_("The file holds"))
    template: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Column template"),
        queryset=ImportTemplate.objects.none(),
        required=False,
        empty_label=_("Recognise the columns (or use a remembered template)"),
    )
    sheet = forms.CharField(
        label=_("Sheet"),
        max_length=100,
        required=False,
        help_text=_("For Excel files: the sheet to read; the first one if empty."),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from .imports import import_types_for
        from .selectors import import_templates_for

        record_type = self.fields["record_type"]
        assert isinstance(record_type, forms.ChoiceField)
        record_type.choices = [(name, kind.label) for name, kind in import_types_for(user).items()]
        template = self.fields["template"]
        assert isinstance(template, forms.ModelChoiceField)
        template.queryset = import_templates_for(user).order_by("record_type", "name")


class ImportMappingForm(forms.Form):
    """One select per column of the file: the field it goes to, or nothing."""

    def __init__(self, *args: Any, batch: Any, targets: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers = list(batch.headers)
        choices = [("", _("— skip this column —")), *targets.items()]
        for index, header in enumerate(self.headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header, choices=choices, required=False, initial=batch.mapping.get(header, "")
            )

    def mapping(self) -> dict[str, str]:
        return {header: self.cleaned_data.get(f"col_{index}") or "" for index, header in enumerate(self.headers)}


class ImportRunForm(forms.Form):
    skip_bad_rows = forms.TypedChoiceField(
        label=_("If some rows have problems"),
        choices=[
            ("0", _("Import nothing (all or nothing)")),
            ("1", _("Import the good rows and give me a file of the bad ones")),
        ],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
        initial="0",
    )
