"""The generated Chinese/English CRM data (`guanxi.dedupe.synthetic`) for the dedupe benchmark: Guanxi's CRM
configuration (`guanxi.dedupe.features`) and Splink 5 on DuckDB with a standard configuration on the same columns."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from itertools import combinations
from typing import Any

from guanxi.dedupe.features import COMPARISONS, RULES, RecordsBuilder
from guanxi.dedupe.matching import match
from guanxi.dedupe.synthetic import Person


def true_pairs(people: list[Person]) -> set[frozenset[str]]:
    entity: dict[int, list[str]] = defaultdict(list)
    for person in people:
        entity[person.entity].append(person.key)
    return {frozenset(p) for keys in entity.values() for p in combinations(keys, 2)}


def guanxi_crm(people: list[Person], threshold: float) -> tuple[set[frozenset[str]], float, dict[str, Any]]:
    """The job's own features, comparisons and blocking rules, in memory."""
    started = time.perf_counter()
    builder = RecordsBuilder()
    for p in people:
        builder.add(p.key, name=p.name, phone=p.phone, email=p.email, company=p.company, city=p.city, street=p.street)
    records = builder.records(incremental=False)
    result = match(records, COMPARISONS, RULES, threshold=threshold)
    found = {frozenset((a, b)) for a, b, _p in result.matches(records, threshold)}
    return found, time.perf_counter() - started, result.stats


_NOT_DIGIT = re.compile(r"\D+")


def splink_crm(people: list[Person], threshold: float) -> tuple[set[frozenset[str]], float, dict[str, Any]]:
    """Splink 5, DuckDB, the usual cleaning (trimmed, lower-case; phone digits only, the last 11 kept) and a
    standard configuration: NameComparison on the name, ExactMatch on the phone, EmailComparison,
    JaroWinklerAtThresholds on the company, ExactMatch on city and street; blocking on phone, email, name
    and company; prior from deterministic rules, u by random sampling, m by EM in two sessions."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    frame = pd.DataFrame(
        {
            "unique_id": [p.key for p in people],
            "name": [p.name.strip().lower() for p in people],
            "phone": [_NOT_DIGIT.sub("", p.phone)[-11:] for p in people],
            "email": [p.email.strip().lower() for p in people],
            "company": [p.company.strip().lower() for p in people],
            "city": [p.city for p in people],
            "street": [p.street for p in people],
        }
    ).replace({"": None})
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("email"),
            block_on("name"),
            block_on("company", "city"),
        ],
        comparisons=[
            cl.NameComparison("name"),
            cl.ExactMatch("phone"),
            cl.EmailComparison("email"),
            cl.JaroWinklerAtThresholds("company", [0.9, 0.7]),
            cl.ExactMatch("city"),
            cl.ExactMatch("street"),
        ],
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings)
    linker.training.estimate_probability_two_random_records_match([block_on("phone"), block_on("email")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
    predictions = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
    found = {frozenset((a, b)) for a, b in zip(predictions["unique_id_l"], predictions["unique_id_r"], strict=True)}
    return found, time.perf_counter() - started, {"pairs_predicted": len(predictions)}
