"""Forms for core pages. They validate shape; services enforce the business rules."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .backends import user_is_locked
from .customfields import FORM_PREFIX, RecordType, active_fields, record_types, required_builtin_fields
from .models import CustomField, ImportTemplate, Tag, Team, User
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


# --- custom fields, required-field rules and tags -----------------------------------------------


def _custom_form_field(cf: CustomField) -> forms.Field:
    """The form field for one custom field, with the widget its kind needs (date picker, select, checkboxes …)."""
    common: dict[str, Any] = {"label": cf.display_label, "required": cf.required, "help_text": cf.help_text}
    kind = CustomField.Kind
    choices = [(c["value"], c["label"]) for c in cf.choices or []]
    if cf.kind == kind.NUMBER:
        return forms.DecimalField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if cf.kind == kind.MONEY:
        return forms.DecimalField(decimal_places=2, widget=forms.NumberInput(attrs={"step": "0.01"}), **common)
    if cf.kind == kind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common)
    if cf.kind == kind.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *choices], **common)
    if cf.kind == kind.MULTI_CHOICE:
        return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **common)
    if cf.kind == kind.BOOLEAN:
        return forms.NullBooleanField(widget=forms.NullBooleanSelect, **common)
    if cf.kind == kind.USER:
        return forms.ModelChoiceField(queryset=User.objects.filter(is_active=True), **common)
    widget_attrs: dict[str, dict[str, str]] = {
        kind.URL: {"inputmode": "url"},
        kind.EMAIL: {"inputmode": "email"},
        kind.PHONE: {"type": "tel", "autocomplete": "off"},
    }
    return forms.CharField(widget=forms.TextInput(attrs=widget_attrs.get(cf.kind, {})), **common)


def _custom_initial(cf: CustomField, value: Any) -> Any:
    if cf.kind == CustomField.Kind.DATE:
        return date.fromisoformat(value)
    return value


def customise_form(form: forms.Form, record_type: str, values: dict[str, Any] | None = None) -> None:
    """Give a record form the record type's active custom fields (built now, so a new field needs no
    restart) and mark the built-in fields the administrator made required."""
    for name in required_builtin_fields(record_type):
        if name in form.fields:
            form.fields[name].required = True
    for cf in active_fields(record_type):
        form.fields[cf.form_name] = _custom_form_field(cf)
        if values and cf.key in values and not form.is_bound:
            form.initial[cf.form_name] = _custom_initial(cf, values[cf.key])


def custom_from_cleaned(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a form's cleaned data into the built-in fields and the `{key: value}` of the custom fields."""
    plain = {k: v for k, v in data.items() if not k.startswith(FORM_PREFIX)}
    custom = {k.removeprefix(FORM_PREFIX): v for k, v in data.items() if k.startswith(FORM_PREFIX)}
    return plain, custom


def tags_form_field() -> forms.CharField:
    return forms.CharField(
        label=_("Tags"),
        max_length=500,
        required=False,
        help_text=_("Separate tags with commas; new ones are created."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


def _record_type_choices() -> list[tuple[str, Any]]:
    return [(rt.key, rt.label) for rt in record_types()]


class CustomFieldForm(forms.Form):
    record_type = forms.ChoiceField(label=_("Record type"), choices=_record_type_choices)
    key = forms.CharField(
        label=_("Key"),
        max_length=40,
        help_text=_(
            "Used by the API, imports and filters (cf_<key>); lower-case letters, digits, underscores. "
            "It cannot be changed later."
        ),
    )
    label = forms.CharField(label=_("Label"), max_length=100)
    label_en = forms.CharField(
        label=_("English label"), max_length=100, required=False, help_text=_("Shown to readers using English.")
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomField.Kind.choices)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For choice fields: one per line, as “value” or “value | label”."),
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    unique = forms.BooleanField(label=_("Unique"), required=False)
    min = forms.CharField(
        label=_("Minimum"),
        required=False,
        max_length=30,
        help_text=_("Numbers and money: a number; dates: YYYY-MM-DD."),
    )
    max = forms.CharField(label=_("Maximum"), required=False, max_length=30)
    max_length = forms.IntegerField(label=_("Maximum length"), required=False, min_value=1, help_text=_("Text only."))
    regex = forms.CharField(
        label=_("Pattern"),
        required=False,
        max_length=200,
        help_text=_("Text only: a regular expression the whole value must match."),
    )
    help_text = forms.CharField(label=_("Help text"), max_length=255, required=False)
    position = forms.IntegerField(label=_("Position"), required=False, min_value=0)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    RULES = ("min", "max", "max_length", "regex")

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            for name in ("record_type", "key", "kind"):
                self.fields[name].disabled = True
        else:
            del self.fields["active"]

    def definition(self) -> dict[str, Any]:
        """The cleaned data in the shape the services take (rules gathered into one dict)."""
        data = dict(self.cleaned_data)
        data["rules"] = {name: data.pop(name) for name in self.RULES if data.get(name) not in (None, "")}
        for name in self.RULES:
            data.pop(name, None)
        if data.get("position") is None:
            data.pop("position")
        return data


class FieldRulesForm(forms.Form):
    required = forms.MultipleChoiceField(
        label=_("Required built-in fields"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, record_type: RecordType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["required"].choices = list(record_type.builtin_fields.items())  # type: ignore[attr-defined]


class TagForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    colour = forms.ChoiceField(label=_("Colour"), choices=Tag.Colour.choices, initial=Tag.Colour.BLUE)
