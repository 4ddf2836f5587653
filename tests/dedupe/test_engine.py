"""The matching engine: comparators, blocking, EM, clusters, incremental runs, and the dedupe job on the DB."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from django.utils import timezone, translation
from hypothesis import given, settings
from hypothesis import strategies as st

from guanxi.core.jobs import job_execute
from guanxi.core.models import Job
from guanxi.customers import comparators as cmp
from guanxi.customers.models import Contact
from guanxi.customers.names import split_full_name
from guanxi.dedupe import features, jobs, matching
from guanxi.dedupe.models import BlockKey, ClusterMember, DuplicateCluster, MatchRun, NotDuplicate
from guanxi.dedupe.synthetic import people

from ..customers import factories as cf

# --- comparators ----------------------------------------------------------------------------------------------


def test_phone_levels_tell_equal_one_digit_off_swapped_and_different() -> None:
    """Phones compare by E.164: any way of writing a number is exact; one digit off or two neighbours swapped is
    one_digit; anything else different; no number on a side is missing."""
    a = cmp.phone_features("138 0013 8000")
    assert a == cmp.phone_features("+86-138-0013-8000") == "+8613800138000"
    assert cmp.phone_level(a, cmp.phone_features("13800138000")) == 0
    assert cmp.phone_level(a, "+8613800138001") == 1
    assert cmp.phone_level(a, "+8613800183000") == 1
    assert cmp.phone_level(a, "+8613911112222") == 2
    assert cmp.phone_level(a, cmp.phone_features("not a phone")) == cmp.MISSING


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="0123456789", min_size=11, max_size=11), st.integers(min_value=0, max_value=9))
def test_a_number_with_one_digit_changed_or_neighbours_swapped_is_near(digits: str, position: int) -> None:
    """Hypothesis: for any 11-digit number, changing one digit or swapping two different neighbours is near."""
    number = "+86" + digits
    changed = number[: 3 + position] + str((int(digits[position]) + 1) % 10) + number[4 + position :]
    assert cmp.phone_level(number, changed) == 1
    if digits[position] != digits[position + 1]:
        swapped = number[: 3 + position] + digits[position + 1] + digits[position] + number[5 + position :]
        assert cmp.phone_level(number, swapped) == 1


def test_email_canonical_form_and_levels() -> None:
    """Case, +tags, Gmail dots and common domain typos reach one mailbox; the same local part elsewhere or a
    one-letter typo at the same domain is close."""
    assert cmp.email_canonical("Wei.Zhang+crm@GMIAL.com") == "weizhang@gmail.com"
    assert cmp.email_canonical("wei.zhang@googlemail.com") == "weizhang@gmail.com"
    assert cmp.email_canonical("ZhangWei@qq.con") == "zhangwei@qq.com"
    assert cmp.email_canonical("wei.zhang@example.com") == "wei.zhang@example.com", "dots matter outside Gmail"
    assert cmp.email_canonical("no-at-sign") == ""
    assert cmp.email_level("zhangwei@qq.com", "zhangwei@163.com") == 1
    assert (
        cmp.email_level("zhangwei@qq.com", "zhangwie@qq.com") == 2
        or cmp.email_level("zhangwei@qq.com", "zhangwe@qq.com") == 1
    )
    assert cmp.email_level("zhangwei@qq.com", "lina@qq.com") == 2
    assert cmp.email_level("", "lina@qq.com") == cmp.MISSING


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("张伟", "張偉", "exact"),  # traditional for simplified
        ("张伟", "Zhang Wei", "same_sound"),  # pinyin for characters
        ("张伟", "Wei Zhang", "same_sound"),  # Latin, given name first
        ("Wei Zhang", "Zhang Wei", "same_sound"),  # swapped order
        ("张伟", "章伟", "close"),  # same sound, other characters: often another person
        ("Zhang Wei", "Zhang Wie", "close"),  # a typo
        ("张伟", "李娜", "different"),
    ],
)
def test_name_levels_across_scripts_orders_and_typos(a: str, b: str, level: str) -> None:
    """Names compare across simplified/traditional characters, pinyin, Latin order and typos."""
    found = cmp.name_level(cmp.name_features(a), cmp.name_features(b))
    assert cmp.LEVELS["name"][found] == level


def test_company_names_compare_without_legal_forms() -> None:
    """有限公司, Co., Ltd. and the like are set aside, and traditional characters are simplified."""
    assert cmp.company_features("华为技术有限公司") == cmp.company_features("華為技術股份有限公司") == "huaweijishu"
    assert cmp.company_features("Acme Trading Co., Ltd.") == cmp.company_features("Acme Trading Limited")
    assert cmp.company_level(cmp.company_features("华为技术"), cmp.company_features("华为技木")) in (1, 2)
    assert cmp.company_level("huaweijishu", "xiaomikeji") == 2


def test_address_levels() -> None:
    """Same street (punctuation aside) is exact, a near street close, only the same city same_city."""
    a = cmp.address_features("北京市", "朝阳路 128号院 3栋")
    assert cmp.address_level(a, cmp.address_features("北京", "朝阳路128号院3栋")) == 0
    assert cmp.address_level(a, cmp.address_features("北京", "朝阳路128号院5栋")) == 1
    assert cmp.address_level(a, cmp.address_features("北京", "")) == 2
    assert cmp.address_level(a, cmp.address_features("上海", "人民路1号")) == 3


# --- the engine on generated data -----------------------------------------------------------------------------


def _records(persons: list[Any], fresh: set[str] | None = None) -> matching.Records:
    builder = features.RecordsBuilder()
    for p in persons:
        builder.add(
            p.key,
            name=p.name,
            phone=p.phone,
            email=p.email,
            company=p.company,
            city=p.city,
            street=p.street,
            fresh=fresh is not None and p.key in fresh,
        )
    return builder.records(incremental=fresh is not None)


def _truth(persons: list[Any]) -> set[frozenset[str]]:
    by_entity: dict[int, list[str]] = {}
    for p in persons:
        by_entity.setdefault(p.entity, []).append(p.key)
    return {frozenset((a, b)) for keys in by_entity.values() for i, a in enumerate(keys) for b in keys[i + 1 :]}


@pytest.fixture(scope="module")
def generated() -> tuple[list[Any], matching.Records, matching.Result]:
    persons = list(people(3000, seed=7))
    records = _records(persons)
    result = matching.match(records, features.COMPARISONS, features.RULES, threshold=0.9)
    return persons, records, result


def test_blocking_finds_nearly_every_true_pair_with_few_candidates(generated: Any) -> None:
    """The unioned blocking rules keep ≥ 97% of the known duplicate pairs while forming a tiny share of all
    pairs (work grows with the records, not their square)."""
    persons, records, result = generated
    truth = _truth(persons)
    candidates = {frozenset((records.keys[i], records.keys[j])) for i, j in result.pairs.tolist()}
    recall = len(truth & candidates) / len(truth)
    assert recall >= 0.97, recall
    assert len(candidates) < 5 * len(records), len(candidates)


def test_vectorised_levels_equal_the_one_pair_comparators(generated: Any) -> None:
    """The engine compares many pairs at once (`Comparison.vector`, distinct value pairs once): every level
    equals the one-pair comparator's on every candidate pair of the generated data, missing sides included."""
    _persons, records, result = generated
    pairs = result.pairs
    first, second = pairs[:, 0].tolist(), pairs[:, 1].tolist()
    for c, comparison in enumerate(features.COMPARISONS):
        assert comparison.vector is not None
        column = records.features[comparison.name]
        one_by_one = [comparison.compare(column[i], column[j]) for i, j in zip(first, second, strict=True)]
        assert result.levels[:, c].tolist() == one_by_one, comparison.name
    levels = {comparison.name: set(result.levels[:, c].tolist()) for c, comparison in enumerate(features.COMPARISONS)}
    assert levels["phone"] == {-1, 0, 1, 2} and levels["name"] == {0, 1, 2, 3, 4}, levels  # each branch taken


def test_vectorised_levels_on_chosen_values() -> None:
    """Hand-picked pairs for the branches generated data rarely reaches: an address with only a street on one
    side, short equal local parts at different domains, pinyin in Latin letters against characters."""
    cases = {
        "name": [("张伟", "Zhang Wei"), ("张伟", "章伟"), ("Wei Zhang", "Wie Zhang"), ("张伟", "李娜"), ("", "张伟")],
        "phone": [("+8613800138000", "+8613800138001"), ("+8613800138000", "+8613800183000"), ("", "+86138")],
        "email": [("abc@qq.com", "abc@163.com"), ("weizhang@qq.com", "weizhang@163.com"), ("wz1@qq.com", "wz2@qq.com")],
        "company": [("huaweijishu", "huaweijishuu"), ("huawei", "tengxun"), ("", "huawei")],
        "address": [
            (("北京", "人民路1号"), ("", "人民路1号")),
            (("北京", ""), ("", "人民路1号")),
            (("北京", "人民路1号"), ("上海", "人民路1号")),
            (("北京", "人民路1号"), ("北京", "人民路2号")),
            (("北京", "人民路1号"), ("北京", "解放路9号")),
            (("", "人民路1号"), ("", "解放路9号")),
            (("", ""), ("北京", "")),
        ],
    }
    prepare = {"name": cmp.name_features, "phone": str, "email": str, "company": str}
    for comparison in features.COMPARISONS:
        for a, b in cases.get(comparison.name, []):
            fa, fb = (
                (prepare[comparison.name](a), prepare[comparison.name](b)) if comparison.name in prepare else (a, b)
            )
            values = np.empty(2, dtype=object)
            values[:] = [fa, fb]
            assert comparison.vector is not None
            found = comparison.vector(values, np.array([0]), np.array([1]))
            assert int(found[0]) == comparison.compare(fa, fb), (comparison.name, a, b)


def test_blocking_pairs_every_member_of_a_small_block_and_neighbours_in_a_large_one() -> None:
    """A block up to `max_block` records gives all its pairs; a larger one pairs each record with its
    `window` next neighbours in `sort` order; a record in two rules' blocks is paired once."""
    keys = [f"r{i}" for i in range(8)]
    records = matching.Records(
        keys=keys,
        group=["person"] * 8,
        features={},
        blocks={"small": ["a", "a", "a", "", "", "", "", ""], "large": ["b"] * 6 + ["", "a"]},
        sort=["6", "5", "4", "3", "2", "1", "", ""],
    )
    rules = [matching.BlockingRule("small"), matching.BlockingRule("large")]
    pairs, stats = matching.block(records, rules, max_block=3, window=1)
    found = {tuple(p) for p in pairs.tolist()}
    # small: all three pairs of 0, 1, 2; large (6 records > 3): neighbours in sort order 5-4-3-2-1-0
    assert found == {(0, 1), (0, 2), (1, 2), (4, 5), (3, 4), (2, 3)}
    assert stats["oversized_blocks"] == 1 and stats["candidate_pairs"] == 6


def test_em_estimates_sensible_m_and_u(generated: Any) -> None:
    """Agreement is far likelier among matches than among random pairs, disagreement the other way round,
    and the prior is near the true share of duplicate pairs."""
    persons, records, result = generated
    p = result.params
    for name in ("phone", "email", "name"):
        assert p.m[name][0] > 0.4 and p.u[name][0] < 0.01, (name, p.m[name], p.u[name])
        assert p.weight(name, 0) > 5
        assert p.weight(name, len(p.m[name]) - 1) < 0, (name, p.m[name], p.u[name])
    true_share = len(_truth(persons)) / (len(records) * (len(records) - 1) / 2)
    assert true_share / 5 < p.lam < true_share * 5, (p.lam, true_share)


def test_precision_and_recall_on_generated_crm_data(generated: Any) -> None:
    """Typos, pinyin, traditional characters, swapped names, phone/email formats, company suffixes: found."""
    persons, records, result = generated
    truth = _truth(persons)
    found = {frozenset((a, b)) for a, b, _p in result.matches(records, 0.9)}
    precision, recall = len(found & truth) / len(found), len(found & truth) / len(truth)
    assert precision > 0.97 and recall > 0.93, (precision, recall)


def test_clusters_are_connected_components_with_reasons() -> None:
    """A–B and B–C above the threshold make one cluster {A, B, C}, scored by its weakest link, with the
    reasons of each pair; D, matching nobody, is in none."""
    records = matching.Records(
        keys=["a", "b", "c", "d"],
        group=["person"] * 4,
        features={"x": ["1", "1", "1", "2"]},
        blocks={"x": ["k", "k", "k", "k"]},
    )
    comparisons = [matching.Comparison("x", "exact", cmp.exact_level)]
    pairs = np.array([[0, 1], [1, 2], [2, 3]])
    levels = matching.compare(records, comparisons, pairs)
    params = matching.Params(lam=0.5, m={"x": [0.9, 0.1]}, u={"x": [0.1, 0.9]})
    weights, probability = matching.score(levels, comparisons, params)
    found = matching.clusters_of(records, comparisons, pairs, levels, weights, probability, 0.8)
    assert [c.members for c in found] == [["a", "b", "c"]]
    assert found[0].score == pytest.approx(0.9)
    assert {(r["a"], r["b"]) for r in found[0].reasons} == {("a", "b"), ("b", "c")}
    assert found[0].reasons[0]["fields"]["x"]["level"] == "exact"


def test_incremental_run_finds_a_new_duplicate_without_comparing_the_base(generated: Any) -> None:
    """With the stored weights, only pairs with a fresh record are formed: a new copy of a known person is
    found, and no pair of two old records is scored again."""
    persons, _records_all, result = generated
    base = persons[:2000]
    original = next(p for p in base if p.phone and p.email)
    new = replace(original, key="new", email=original.email.upper(), company="")
    records = _records([*base, new], fresh={"new"})
    incremental = matching.match(records, features.COMPARISONS, features.RULES, threshold=0.9, params=result.params)
    new_index = len(base)
    assert len(incremental.pairs) > 0
    assert all(new_index in pair for pair in incremental.pairs.tolist()), "no old pair compared again"
    assert any("new" in c.members and original.key in c.members for c in incremental.clusters)


def test_not_duplicate_pairs_are_skipped() -> None:
    """A pair someone called "not a duplicate" is never scored, so never proposed."""
    persons = list(people(600, seed=3))
    records = _records(persons)
    first = matching.match(records, features.COMPARISONS, features.RULES, threshold=0.9)
    a, b, _p = first.matches(records, 0.9)[0]
    again = matching.match(
        records, features.COMPARISONS, features.RULES, threshold=0.9, skip={frozenset((a, b))}, params=first.params
    )
    assert frozenset((a, b)) not in {frozenset((x, y)) for x, y, _p in again.matches(records, 0.9)}
    assert again.stats["skipped_not_duplicates"] == 1


# --- the job on the database ----------------------------------------------------------------------------------


def _load_people(owner: Any, count: int, seed: int) -> list[Any]:
    made = []
    for p in people(count, seed=seed):
        surname, given_name = split_full_name(p.name)
        try:
            contact = cf.contact(
                owner=owner,
                surname=surname,
                given_name=given_name,
                phone=p.phone,
                email=p.email,
                city=p.city,
                street=p.street,
            )
        except Exception:  # a generated variant the form would refuse (a mistyped phone that is no number)
            continue
        made.append((p, contact))
    return made


@pytest.mark.django_db(transaction=False)
def test_the_job_stores_clusters_with_progress_then_runs_incrementally(make_user: Any) -> None:
    """Run now → a full run reads every record, reports progress, stores clusters with reasons in the review
    queue; a lead that repeats a contact is found across types; the next run is incremental, compares only
    the new record and finds its duplicate; a pair marked "not a duplicate" never comes back."""
    admin = make_user("administrator")
    made = _load_people(admin, 400, seed=11)
    known = next(contact for _p, contact in made if contact.phone)
    cf.lead(owner=admin, surname=known.surname, given_name=known.given_name, phone=known.phone, company_name="")
    job = jobs.dedupe_run_start(actor=admin)
    Job.objects.filter(pk=job.pk).update(state=Job.State.QUEUED)
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.done == job.total == 100
    run = MatchRun.objects.get(job=job)
    assert run.kind == MatchRun.Kind.FULL and run.finished_at and run.params["model"]["m"]["phone"]
    assert job.result["clusters"] > 20 and DuplicateCluster.objects.count() > 20
    members = set(ClusterMember.objects.values_list("record_type", "record_id"))
    assert ("contact", known.pk) in members and any(t == "lead" for t, _i in members)
    cluster = DuplicateCluster.objects.filter(members__record_type="lead").first()
    assert cluster is not None and cluster.reasons[0]["fields"]["phone"]["level"] == "exact"

    # "not a duplicate" on one cluster's pair, then a new copy of someone: incremental
    pair = DuplicateCluster.objects.exclude(pk=cluster.pk).first()
    assert pair is not None
    a, b = (pair.reasons[0]["a"], pair.reasons[0]["b"])
    (ta, ia), (tb, ib) = sorted([(a.split(":")[0], int(a.split(":")[1])), (b.split(":")[0], int(b.split(":")[1]))])
    NotDuplicate.objects.create(record_type_a=ta, id_a=ia, record_type_b=tb, id_b=ib)
    DuplicateCluster.objects.all().delete()
    other = next(contact for _p, contact in made[5:] if contact.phone)
    new = cf.contact(owner=admin, surname=other.surname, given_name=other.given_name, phone=other.phone)
    summary = jobs.dedupe_run(job=None, kind="auto")
    assert summary["kind"] == MatchRun.Kind.INCREMENTAL and summary["fresh"] == 1  # the new contact only
    assert summary["pairs"] < 50, "only the fresh records were compared"
    found = [set(c.members.values_list("record_type", "record_id")) for c in DuplicateCluster.objects.all()]
    assert any({("contact", new.pk), ("contact", other.pk)} <= f for f in found)

    full = jobs.dedupe_run(job=None, kind="full")
    assert full["kind"] == MatchRun.Kind.FULL
    for reasons in DuplicateCluster.objects.values_list("reasons", flat=True):
        assert all({r["a"], r["b"]} != {a, b} for r in reasons), "a dismissed pair came back"


@pytest.mark.django_db(transaction=False)
def test_an_incremental_run_reads_only_the_changed_records_and_those_sharing_a_key(make_user: Any) -> None:
    """After a full run (which stores every record's blocking keys), an incremental run reads the records
    changed since and the records sharing a blocking key with them, not the base: here the new contact, the
    one whose name and phone it repeats, and any other record with the same phone or name keys."""
    admin = make_user("administrator")
    made = _load_people(admin, 300, seed=5)
    full = jobs.dedupe_run(job=None, kind="full")
    assert full["records"] == len(made) and full["fresh"] == len(made)
    assert BlockKey.objects.filter(record_type="contact").values("record_id").distinct().count() == len(made)
    other = next(contact for _p, contact in made[10:] if contact.phone)
    new = cf.contact(owner=admin, surname=other.surname, given_name=other.given_name, phone=other.phone)
    assert not BlockKey.objects.filter(record_type="contact", record_id=new.pk).exists()
    summary = jobs.dedupe_run(job=None, kind="incremental")
    assert summary["kind"] == MatchRun.Kind.INCREMENTAL and summary["fresh"] == 1
    phone_twins = Contact.objects.filter(phone=other.phone).count()  # the new one included
    assert phone_twins <= summary["records"] < len(made) // 5, summary  # not the whole base
    found = [set(c.members.values_list("record_type", "record_id")) for c in DuplicateCluster.objects.all()]
    assert any({("contact", new.pk), ("contact", other.pk)} <= f for f in found)
    # the new contact's keys are stored now: a later change to `other` reads the new contact back
    assert BlockKey.objects.filter(record_type="contact", record_id=new.pk).exists()
    Contact.objects.filter(pk=other.pk).update(city="杭州", updated_at=timezone.now())
    again = jobs.dedupe_run(job=None, kind="incremental")
    assert again["fresh"] == 1 and phone_twins <= again["records"] < len(made) // 5, again


def test_run_now_page_starts_a_job_and_the_api_starts_and_lists_runs(client: Any, make_user: Any) -> None:
    """The queue shows "Run now"; posting it queues a dedupe job; the API does the same and lists runs."""
    admin = make_user("administrator")
    client.force_login(admin)
    with translation.override("en"):
        page = client.get("/dedupe/", HTTP_ACCEPT_LANGUAGE="en")
    assert b'data-testid="dedupe-run-now"' in page.content
    response = client.post("/dedupe/runs/", {"kind": "full"})
    assert response.status_code == 302
    job = Job.objects.filter(kind=jobs.DEDUPE_RUN).latest("id")
    assert response["Location"].endswith(f"/jobs/{job.pk}/") and job.params == {"kind": "full"}
    bad = client.post("/dedupe/runs/", {"kind": "everything"})
    assert bad.status_code == 302 and Job.objects.filter(kind=jobs.DEDUPE_RUN).count() == 1
    api = client.post("/api/v1/dedupe/runs", {"kind": "incremental"}, content_type="application/json")
    assert api.status_code == 202 and api.json()["kind"] == jobs.DEDUPE_RUN
    listed = client.get("/api/v1/dedupe/runs")
    assert listed.status_code == 200
    assert Contact.objects.count() == 0


def test_the_real_time_warning_reads_names_with_the_engines_comparator() -> None:
    """The duplicate warning's name similarity (customers.duplicates) takes the engine's exact and same_sound
    levels as the same name: traditional characters and Latin pinyin in either order."""
    assert cmp.name_similarity("張偉", "张伟") == cmp.SAME
    assert cmp.name_similarity("Wei Zhang", "张伟") == cmp.SAME
    assert cmp.name_similarity("李娜", "张伟") < cmp.SIMILAR_NAME


def test_auto_merge_is_off_by_default_and_merges_above_the_administrators_threshold(make_user: Any) -> None:
    """With no threshold nothing is merged; with one, clusters scoring at or above it are merged by the run
    through the merge service (the merged record is archived, its cluster marked merged automatically)."""
    from guanxi.dedupe.models import DedupeSettings

    admin = make_user("administrator")
    made = _load_people(admin, 250, seed=5)
    assert made
    first = jobs.dedupe_run(job=None, kind="full")
    assert first["clusters"] > 0 and first["auto_merged"] == 0
    assert not DuplicateCluster.objects.filter(status=DuplicateCluster.Status.AUTO_MERGED).exists()
    DuplicateCluster.objects.all().delete()
    settings_row = DedupeSettings.load()
    settings_row.auto_merge_threshold = 0.999
    settings_row.save()
    second = jobs.dedupe_run(job=None, kind="full")
    assert second["auto_merged"] > 0
    merged = DuplicateCluster.objects.filter(status=DuplicateCluster.Status.AUTO_MERGED)
    assert merged.count() == second["auto_merged"]
    assert all(c.score >= 0.999 for c in merged)


def test_the_real_time_warning_scores_with_the_batch_engines_weights(make_user: Any) -> None:
    """Before any run the warning scores a shared phone as certain; once a run has estimated its weights, the
    warning gives each candidate the probability the model gives the pair (the same number the review queue
    shows), so a shared phone with a different name scores well below the same phone and the same name."""
    from guanxi.customers.duplicates import likely_duplicates

    admin = make_user("administrator")
    made = _load_people(admin, 300, seed=7)
    known = next(contact for _p, contact in made if contact.phone)
    stranger = {"surname": "欧阳", "given_name": "娜娜", "phone": known.phone}
    before = likely_duplicates(record_type="contact", values=stranger, user=admin)
    assert [m.score for m in before if m.pk == known.pk] == [1.0]

    jobs.dedupe_run(job=None, kind="full")
    same = {"surname": known.surname, "given_name": known.given_name, "phone": known.phone}
    same_score = next(
        m.score for m in likely_duplicates(record_type="contact", values=same, user=admin) if m.pk == known.pk
    )
    other_score = next(
        m.score for m in likely_duplicates(record_type="contact", values=stranger, user=admin) if m.pk == known.pk
    )
    assert same_score >= 0.95 and other_score < same_score and other_score < 1.0

    # a pair in the review queue that shares a phone: the warning for one side scores the other as the queue does
    pair = next(
        r
        for reasons in DuplicateCluster.objects.values_list("reasons", flat=True)
        for r in reasons
        if r["a"].startswith("contact:")
        and r["b"].startswith("contact:")
        and r["fields"].get("phone", {}).get("level") == "exact"
    )
    a = Contact.objects.get(pk=int(pair["a"].split(":")[1]))
    b_pk = int(pair["b"].split(":")[1])
    values = {k: getattr(a, k) for k in ("surname", "given_name", "phone", "email", "city", "street")}
    warning = likely_duplicates(record_type="contact", values=values, user=admin, exclude=a)
    assert [m.score for m in warning if m.pk == b_pk] == [round(pair["probability"], 3)]
