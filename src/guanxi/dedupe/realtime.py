"""The real-time duplicate warning, scored by the batch engine's model.

`customers.duplicates` finds the candidates of an unsaved record by indexed look-ups and names the reasons
(same phone, similar name at a company …). Once a batch run has estimated Fellegi–Sunter weights, this module
gives each candidate the probability those weights give the pair: the same comparisons (`features.COMPARISONS`)
on the same features (`features.RecordsBuilder`) and the same formula (`matching.score`) as the review queue,
so a warning and a review-queue cluster never disagree on how alike two records are. Before the first run
there is no model and the warning keeps its own scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from guanxi.customers.comparators import person_name
from guanxi.customers.duplicates import DuplicateMatch
from guanxi.customers.models import Account, Contact, Lead

from .features import COMPARISONS, RecordsBuilder, _companies_of
from .matching import Params, compare, score
from .models import MatchRun

RESCORED = 20  # the best candidates (by the warning's own score) that the model scores again

_model_cache: dict[int, Params] = {}


def current_model() -> Params | None:
    """The weights of the latest finished run that estimated them (cached per run)."""
    run = (
        MatchRun.objects.filter(finished_at__isnull=False, params__has_key="model")
        .order_by("-id")
        .values_list("pk", "params")
        .first()
    )
    if run is None:
        return None
    pk, params = run
    if pk not in _model_cache:
        _model_cache.clear()
        _model_cache[pk] = Params.from_json(params["model"])
    return _model_cache[pk]


def _add_unsaved(builder: RecordsBuilder, record_type: str, values: dict[str, Any]) -> None:
    name = person_name(str(values.get("surname", "")), str(values.get("given_name", "")))
    if record_type == "account":
        builder.add(
            "new",
            company=str(values.get("name", "")),
            registration=str(values.get("registration_number", "")),
            city=str(values.get("city", "")),
        )
        return
    company = str(values.get("company_name", ""))
    if record_type == "contact":
        ids = [int(pk) for pk in values.get("accounts") or [] if str(pk).isdigit()]
        names = dict(Account.objects.filter(pk__in=ids).values_list("pk", "name"))
        company = next((names[pk] for pk in ids if pk in names), "")
    builder.add(
        "new",
        name=name,
        phone=str(values.get("phone", "")),
        email=str(values.get("email", "")),
        company=company,
        city=str(values.get("city", "")),
        street=str(values.get("street", "")),
    )


def _add_existing(builder: RecordsBuilder, matches: list[DuplicateMatch]) -> list[DuplicateMatch]:
    """The candidates' stored features, in the order they were added (those no longer found are left out)."""
    wanted: dict[str, list[int]] = {}
    for match in matches:
        wanted.setdefault(match.type, []).append(match.pk)
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for pk, name, registration, city in Account.objects.filter(pk__in=wanted.get("account", [])).values_list(
        "pk", "name", "registration_number", "city"
    ):
        rows["account", pk] = {"company": name, "registration": registration or "", "city": city}
    contact_ids = wanted.get("contact", [])
    companies = _companies_of(contact_ids) if contact_ids else {}
    for pk, name, phone, email, city, street in Contact.objects.filter(pk__in=contact_ids).values_list(
        "pk", "full_name", "phone", "email", "city", "street"
    ):
        rows["contact", pk] = {
            "name": name,
            "phone": phone,
            "email": email,
            "company": companies.get(pk, ""),
            "city": city,
            "street": street,
        }
    for pk, name, phone, email, company in Lead.objects.filter(pk__in=wanted.get("lead", [])).values_list(
        "pk", "full_name", "phone", "email", "company_name"
    ):
        rows["lead", pk] = {"name": name, "phone": phone, "email": email, "company": company}
    scored = []
    for match in matches:
        row = rows.get((match.type, match.pk))
        if row is not None:
            builder.add(f"{match.type}:{match.pk}", **row)
            scored.append(match)
    return scored


def model_scores(*, record_type: str, values: dict[str, Any], matches: list[DuplicateMatch]) -> None:
    """Replace the scores of the best `RESCORED` candidates with the model's match probability."""
    params = current_model()
    if params is None or not matches:
        return
    best = sorted(matches, key=lambda m: -m.score)[:RESCORED]
    builder = RecordsBuilder()
    _add_unsaved(builder, record_type, values)
    scored = _add_existing(builder, best)
    if not scored:
        return
    records = builder.records(incremental=False)
    pairs = np.array([(0, i) for i in range(1, len(scored) + 1)], dtype=np.int64)
    _weights, probability = score(compare(records, COMPARISONS, pairs), COMPARISONS, params)
    for match, p in zip(scored, probability.tolist(), strict=True):
        match.score = round(float(p), 3)
