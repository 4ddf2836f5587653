"""The matching engine: blocking, field comparisons, Fellegi–Sunter weights estimated from the data, clusters.

Pure Python and NumPy, no database: `guanxi.dedupe.features` turns contacts, accounts and leads into
`Records`, the job (`guanxi.dedupe.jobs`) stores what `match` returns, and the benchmarks run the same
code on FEBRL and on generated CRM data.

1. Blocking. Each `BlockingRule` names a key per record (a phone, a canonical email, a pinyin name key …);
   records sharing a key are candidate pairs, and the rules' pairs are unioned. A key shared by more than
   `max_block` records says little on its own; such a block is not paired all against all but sorted by
   the record's `sort` feature and each record is paired with its `window` neighbours (sorted
   neighbourhood), so the work grows close to linearly with the number of records. All in NumPy: keys coded
   as integers, sorted, pairs generated per block and deduplicated as one int64 code each.
2. Comparison. Each `Comparison` gives a pair a discrete level (`customers.comparators`): exact, close …,
   or MISSING when a side is empty (it then weighs nothing). Features are coded as integers; equal values
   are compared once per value, each distinct pair of different values once, all at once through the
   comparison's `vector` (rapidfuzz `cpdist`) — the same levels as the one-pair comparator, tens of times
   faster than a Python call per pair.
3. Fellegi–Sunter, as Splink does it: u (how often a level occurs between two records that are not the
   same) from random pairs — the exact level from the values' frequencies, which is what random pairs
   estimate, only without sampling error; m (how often it occurs between two records that are the same)
   and the share of matches among the candidate pairs by expectation–maximisation over the candidate
   pairs with u fixed. A pair's match weight is log2 of the prior odds plus, per field, log2(m/u) of its
   level; its probability is the weight's logistic.
4. Clusters: pairs at or above the threshold joined by union–find (connected components), strongest
   pairs first, so a cluster's score is its weakest link. Each pair keeps its reasons: every field's
   level and weight.
5. Incremental: `fresh` marks the records created or changed since the last run; only pairs with a fresh
   record are formed (through the same block keys, so the base is reached by index, never compared with
   itself again), and the stored `Params` are reused instead of estimated. The job reads only the fresh
   records and those sharing a blocking key with them (`features.load_records`, `models.BlockKey`).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from guanxi.customers.comparators import LEVELS, MISSING

Progress = Callable[[str, float], None]  # (stage, share of the stage done 0–1)


@dataclass(frozen=True)
class Comparison:
    """One field compared with a comparator of `customers.comparators`.

    `kind` names its levels in `LEVELS`; `exact_value` reads, from a record's feature, the value whose
    equality is level 0 (None when level 0 is not plain equality), so u of level 0 comes from frequencies.
    """

    name: str
    kind: str
    compare: Callable[[Any, Any], int]
    exact_value: Callable[[Any], Any] | None = None
    # the same levels for many pairs at once: (distinct values as an object array, index of a's value, index
    # of b's value) → int8 levels; only pairs of two different values are asked. None: `compare` per pair.
    vector: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None

    @property
    def levels(self) -> tuple[str, ...]:
        return LEVELS[self.kind]


@dataclass(frozen=True)
class BlockingRule:
    """Candidate pairs: records with the same key in `Records.blocks[name]` (a string, or a tuple of them).

    `uses`: the comparisons the key is made of. Pairs of this rule agree on them by construction, so the EM
    session on this rule's pairs leaves them out (as Splink does)."""

    name: str
    uses: tuple[str, ...] = ()
    exact: bool = True  # equal keys are level 0 of the one comparison in `uses` (the prior is estimated from it)


@dataclass
class Records:
    """The records to match, column-wise: `keys[i]` ("contact:12"), `group[i]` (only records of one group are
    compared: people with people, companies with companies), a feature per comparison, a key per rule."""

    keys: list[str]
    group: list[str]
    features: dict[str, list[Any]]
    blocks: dict[str, list[Any]]
    sort: list[str] = field(default_factory=list)  # orders an oversized block (sorted neighbourhood)
    fresh: list[bool] | None = None  # incremental: only pairs with a fresh record
    _coded: dict[str, tuple[np.ndarray, list[Any]]] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.keys)

    def coded(self, name: str) -> tuple[np.ndarray, list[Any]]:
        """A feature column as integer codes (equal values, equal codes) and the distinct values, computed once."""
        if name not in self._coded:
            self._coded[name] = factorize(self.features[name])
        return self._coded[name]


def factorize(column: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """(code per value as int64, the distinct values in order of first appearance)."""
    codes: dict[Any, int] = {}
    setdefault = codes.setdefault
    index = np.fromiter((setdefault(value, len(codes)) for value in column), dtype=np.int64, count=len(column))
    return index, list(codes)


@dataclass
class Params:
    """The estimated model: the prior share of matches among candidate pairs (`lam`), m and u per level."""

    lam: float
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    em_iterations: int = 0

    def weight(self, name: str, level: int) -> float:
        """log2(m/u) of a level: how much it says for (positive) or against (negative) a match."""
        if level == MISSING:
            return 0.0
        return math.log2(self.m[name][level] / self.u[name][level])

    def as_json(self) -> dict[str, Any]:
        return {"lam": self.lam, "m": self.m, "u": self.u, "em_iterations": self.em_iterations}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Params:
        return cls(lam=float(data["lam"]), m=data["m"], u=data["u"], em_iterations=int(data.get("em_iterations", 0)))


@dataclass
class Cluster:
    """Records believed to be one customer: `score` is the probability of its weakest link."""

    members: list[str]
    score: float
    reasons: list[dict[str, Any]]


@dataclass
class Result:
    pairs: np.ndarray  # (n, 2) candidate pairs, indexes into Records
    levels: np.ndarray  # (n, comparisons) int8 levels, MISSING = -1
    probability: np.ndarray  # (n,)
    params: Params
    clusters: list[Cluster]
    stats: dict[str, Any]

    def matches(self, records: Records, threshold: float) -> list[tuple[str, str, float]]:
        """The pairs at or above `threshold`, by record key."""
        chosen = np.nonzero(self.probability >= threshold)[0]
        return [
            (records.keys[int(self.pairs[k, 0])], records.keys[int(self.pairs[k, 1])], float(self.probability[k]))
            for k in chosen
        ]


# --- 1. blocking ----------------------------------------------------------------------------------------------


def _keys_of(value: Any) -> Iterable[Any]:
    if not value:
        return ()
    return value if isinstance(value, tuple) else (value,)


def _key_index(column: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(record index, key code) for every key of every record that has one (a tuple holds several keys)."""
    if not any(isinstance(value, tuple) for value in column):  # one key per record
        index, values = factorize(column)
        keyed = np.flatnonzero(np.fromiter(map(bool, values), dtype=bool, count=len(values))[index])
        return keyed, index[keyed]
    codes: dict[Any, int] = {}
    setdefault = codes.setdefault
    rows: list[int] = []
    keys: list[int] = []
    for i, value in enumerate(column):
        if not value:
            continue
        if isinstance(value, tuple):
            for key in value:
                rows.append(i)
                keys.append(setdefault(key, len(codes)))
        else:
            rows.append(i)
            keys.append(setdefault(value, len(codes)))
    return np.asarray(rows, dtype=np.int64), np.asarray(keys, dtype=np.int64)


def block(
    records: Records, rules: list[BlockingRule], *, max_block: int = 1000, window: int = 10
) -> tuple[np.ndarray, dict[str, Any]]:
    """The candidate pairs of every rule, unioned: an (n, 2) array of record indexes, i < j, each pair once.

    Vectorised: each rule's keys are coded, the (key, record) rows sorted by key and, inside a key, by the
    records' `sort` feature; a record is paired with every later member of a block of up to `max_block`
    records, or with its `window` next neighbours in a larger one. Incremental (`fresh`): only the pairs
    with a fresh record are kept."""
    n = len(records)
    fresh = np.asarray(records.fresh, dtype=bool) if records.fresh is not None else None
    rank = np.arange(n)
    if records.sort:  # each record's place in `sort` order, ties in record order
        rank[sorted(range(n), key=records.sort.__getitem__)] = np.arange(n)
    chunks: list[np.ndarray] = []
    stats: dict[str, Any] = {"rules": {}, "oversized_blocks": 0}
    for rule in rules:
        rows, keys = _key_index(records.blocks[rule.name])
        if not len(rows):
            stats["rules"][rule.name] = 0
            continue
        order = np.lexsort((rows, rank[rows], keys))  # by key, then sort feature, then record (stable)
        rows, keys = rows[order], keys[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        sizes = np.diff(np.r_[starts, len(keys)])
        if fresh is not None:  # a block without a fresh record gives no pair
            fresh_in = np.add.reduceat(fresh[rows].astype(np.int64), starts) > 0
            sizes_used = np.where(fresh_in, sizes, 1)
        else:
            sizes_used = sizes
        stats["oversized_blocks"] += int((sizes_used > max_block).sum())
        size_at = np.repeat(sizes_used, sizes)
        position = np.arange(len(keys)) - np.repeat(starts, sizes)
        reach = np.where(size_at > max_block, window, size_at)
        after = np.clip(np.minimum(size_at - 1 - position, reach), 0, None)
        total = int(after.sum())
        first = np.repeat(np.arange(len(keys)), after)
        second = first + np.arange(total) - np.repeat(np.cumsum(after) - after, after) + 1
        a, b = rows[first], rows[second]
        del first, second
        if fresh is not None and len(a):
            keep = fresh[a] | fresh[b]
            a, b = a[keep], b[keep]
        stats["rules"][rule.name] = len(a)
        code = np.minimum(a, b) * n + np.maximum(a, b)  # one number per pair (low * n + high): half the memory
        chunks.append(code[a != b])
        del a, b, code
    if not chunks:
        return np.zeros((0, 2), dtype=np.int64), stats
    code = np.concatenate(chunks)
    del chunks
    code.sort()  # in place; np.unique would hash tens of millions of numbers first, many times slower
    code = code[np.r_[True, code[1:] != code[:-1]]]
    pairs = np.stack([code // n, code % n], axis=1)
    del code
    group = factorize(records.group)[0]
    if len(pairs):
        pairs = pairs[group[pairs[:, 0]] == group[pairs[:, 1]]]
    stats["candidate_pairs"] = len(pairs)
    return pairs, stats


# --- 2. comparison --------------------------------------------------------------------------------------------


def compare(records: Records, comparisons: list[Comparison], pairs: np.ndarray) -> np.ndarray:
    """The level of every comparison for every pair: an (n, comparisons) int8 array, MISSING = -1.

    Per comparison, the pairs are read as pairs of distinct values: a value compared with itself is asked
    once per value, and each pair of two different values once (by `vector` on all of them at once when the
    comparison has one), however many record pairs share it."""
    levels = np.empty((len(pairs), len(comparisons)), dtype=np.int8)
    if not len(pairs):
        return levels
    for c, comparison in enumerate(comparisons):
        codes, values = records.coded(comparison.name)
        levels[:, c] = _levels_of(comparison, values, codes[pairs[:, 0]], codes[pairs[:, 1]])
    return levels


def _levels_of(comparison: Comparison, values: list[Any], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    fn = comparison.compare
    out = np.empty(len(a), dtype=np.int8)
    same = a == b
    if same.any():
        used = np.unique(a[same])
        with_itself = np.zeros(len(values), dtype=np.int8)
        with_itself[used] = [fn(values[v], values[v]) for v in used.tolist()]
        out[same] = with_itself[a[same]]
    differ = np.flatnonzero(~same)
    if not len(differ):
        return out
    width = len(values)
    distinct, inverse = np.unique(a[differ] * width + b[differ], return_inverse=True)
    first, second = distinct // width, distinct % width
    if comparison.vector is not None:
        column = np.empty(width, dtype=object)
        column[:] = values
        found = np.asarray(comparison.vector(column, first, second), dtype=np.int8)
    else:
        found = np.fromiter(
            (fn(values[i], values[j]) for i, j in zip(first.tolist(), second.tolist(), strict=True)),
            dtype=np.int8,
            count=len(distinct),
        )
    out[differ] = found[inverse.reshape(-1)]
    return out


# --- 3. Fellegi–Sunter ----------------------------------------------------------------------------------------


def estimate_u(
    records: Records, comparisons: list[Comparison], *, max_pairs: int = 100_000, seed: int = 1
) -> dict[str, list[float]]:
    """u per level from random pairs of records (of one group); level 0 from value frequencies when it is
    plain equality. A small pseudo-count keeps a level never seen from weighing infinitely."""
    rng = np.random.default_rng(seed)
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(records.group):
        by_group[g].append(i)
    groups = [np.asarray(members, dtype=np.int64) for members in by_group.values() if len(members) > 1]
    chunks = [np.zeros((0, 2), dtype=np.int64)]
    possible = sum(len(m) * (len(m) - 1) // 2 for m in groups)
    wanted = min(max_pairs, possible)
    for members in groups:  # each group's share of the sample follows its share of all pairs
        size = len(members)
        count = round(wanted * (size * (size - 1) // 2) / possible) if possible else 0
        if not count:
            continue
        first = rng.integers(0, size, count)
        second = (first + rng.integers(1, size, count)) % size  # never the record itself
        chunks.append(np.stack([members[first], members[second]], axis=1))
    pairs = np.concatenate(chunks)
    levels = compare(records, comparisons, pairs)
    u: dict[str, list[float]] = {}
    for c, comparison in enumerate(comparisons):
        count = len(comparison.levels)
        column = levels[:, c]
        seen = np.bincount(column[column >= 0], minlength=count).astype(float) + 0.5
        shares = seen / seen.sum()
        if comparison.exact_value is not None:
            exact = _equal_share(records, comparison.name, comparison.exact_value)
            if exact is not None:
                rest = shares[1:].sum()
                shares[0] = max(exact, 0.5 / max(len(column), 1))
                shares[1:] = shares[1:] / rest * (1 - shares[0]) if rest else (1 - shares[0]) / (count - 1)
        u[comparison.name] = shares.tolist()
    return u


def _equal_share(records: Records, name: str, value_of: Callable[[Any], Any]) -> float | None:
    """P(two different random records of one group have equal values | both have one)."""
    codes, values = records.coded(name)
    of_value: dict[Any, int] = {}
    value_code = np.fromiter(
        (of_value.setdefault(value, len(of_value)) if value else -1 for value in map(value_of, values)),
        dtype=np.int64,
        count=len(values),
    )
    per_record = value_code[codes]
    group = factorize(records.group)[0]
    has = per_record >= 0
    if not has.any():
        return None
    present = np.bincount(group[has]).astype(np.float64)
    possible = float((present * (present - 1)).sum())
    if not possible:
        return None
    _pairs, counts = np.unique(group[has] * (len(of_value) + 1) + per_record[has], return_counts=True)
    counts = counts.astype(np.float64)
    return float((counts * (counts - 1)).sum()) / possible


def _m_start(count: int) -> list[float]:
    start = [0.9] + [0.1 * 0.5 ** (level + 1) for level in range(count - 1)]
    total = sum(start)
    return [x / total for x in start]


def rule_membership(records: Records, rules: list[BlockingRule], pairs: np.ndarray) -> np.ndarray:
    """(n, rules) bool: which rules' keys each pair shares."""
    member = np.zeros((len(pairs), len(rules)), dtype=bool)
    if not len(pairs):
        return member
    for r, rule in enumerate(rules):
        column = records.blocks[rule.name]
        if not any(isinstance(value, tuple) for value in column):  # one key per record: plain equality
            codes, values = factorize(column)
            present = np.fromiter((bool(v) for v in values), dtype=bool, count=len(values))
            a, b = codes[pairs[:, 0]], codes[pairs[:, 1]]
            member[:, r] = present[a] & (a == b)
            continue
        firsts, seconds = pairs[:, 0].tolist(), pairs[:, 1].tolist()
        member[:, r] = [
            bool(set(_keys_of(column[i])) & set(_keys_of(column[j]))) for i, j in zip(firsts, seconds, strict=True)
        ]
    return member


def estimate_m(
    levels: np.ndarray,
    comparisons: list[Comparison],
    u: dict[str, list[float]],
    *,
    rules: list[BlockingRule],
    membership: np.ndarray,
    total_pairs: int,
    min_pairs: int = 50,
) -> Params:
    """m per level by EM, u fixed, in one session per blocking rule (as Splink trains): the session's pairs
    are those its rule blocked, and the comparisons the rule is made of are left out of it, since those pairs
    agree on them whatever they are. m of a comparison is the mean over the sessions that estimated it.

    The prior (share of matches among all pairs of records) follows from each single-field rule's session:
    its matches ≈ its share of matches × its pairs, which are the matches agreeing exactly on that field,
    so all matches ≈ that / m(exact) of the field as the other sessions estimated it."""
    names = [c.name for c in comparisons]
    estimates: dict[str, list[list[float]]] = defaultdict(list)
    sessions: list[tuple[BlockingRule, float, int]] = []
    iterations = 0
    for r, rule in enumerate(rules):
        rows = np.nonzero(membership[:, r])[0]
        active = [c for c, name in enumerate(names) if name not in rule.uses]
        if len(rows) < min_pairs or not active:
            continue
        chosen = [comparisons[c] for c in active]
        lam, m, run = _em(levels[np.ix_(rows, np.asarray(active, dtype=np.int64))], chosen, u)
        iterations += run
        for comparison in chosen:
            estimates[comparison.name].append(m[comparison.name])
        sessions.append((rule, lam, len(rows)))
    m_all: dict[str, list[float]] = {}
    for comparison in comparisons:
        found = estimates.get(comparison.name)
        m_all[comparison.name] = (
            np.mean(np.asarray(found), axis=0).tolist() if found else _m_start(len(comparison.levels))
        )
    matches = []
    for rule, lam, count in sessions:
        if rule.exact and len(rule.uses) == 1 and rule.uses[0] in estimates:
            matches.append(lam * count / max(m_all[rule.uses[0]][0], 1e-6))
    if matches and total_pairs:
        prior = float(np.median(matches)) / total_pairs
    else:  # no single-field rule: the share of matches among all candidate pairs, by one EM over them
        prior, _m, _run = _em(levels, comparisons, u)
        prior *= max(len(levels), 1) / max(total_pairs, 1)
    prior = float(min(max(prior, 1e-9), 0.5))
    return Params(lam=prior, m=m_all, u=u, em_iterations=iterations)


def _em(
    levels: np.ndarray,
    comparisons: list[Comparison],
    u: dict[str, list[float]],
    *,
    max_iterations: int = 40,
    tolerance: float = 1e-5,
    lam: float = 0.1,
) -> tuple[float, dict[str, list[float]], int]:
    """One EM session: the share of matches among these pairs and m per level, u held fixed."""
    m = {c.name: _m_start(len(c.levels)) for c in comparisons}
    log_u = [np.log(np.asarray(u[c.name])) for c in comparisons]
    iterations = 0
    if not len(levels):
        return lam, m, 0
    present = [levels[:, c] >= 0 for c in range(len(comparisons))]
    indexes = [np.where(present[c], levels[:, c], 0) for c in range(len(comparisons))]
    for iterations in range(1, max_iterations + 1):  # noqa: B007 — kept as the count of iterations run
        log_ratio = np.full(len(levels), math.log(lam / (1 - lam)))
        for c, comparison in enumerate(comparisons):
            contribution = np.log(np.asarray(m[comparison.name])) - log_u[c]
            log_ratio += np.where(present[c], contribution[indexes[c]], 0.0)
        posterior = 1.0 / (1.0 + np.exp(-np.clip(log_ratio, -700, 700)))
        change = 0.0
        for c, comparison in enumerate(comparisons):
            count = len(comparison.levels)
            weights = np.bincount(indexes[c][present[c]], weights=posterior[present[c]], minlength=count) + 1e-3
            new = (weights / weights.sum()).tolist()
            change = max(change, max(abs(a - b) for a, b in zip(new, m[comparison.name], strict=True)))
            m[comparison.name] = new
        new_lam = float(min(max(posterior.mean(), 1e-6), 1 - 1e-6))
        change = max(change, abs(new_lam - lam))
        lam = new_lam
        if change < tolerance:
            break
    return lam, m, iterations


def probability_of(levels: np.ndarray, comparisons: list[Comparison], params: Params) -> np.ndarray:
    """The match probability of every pair, as `score` gives it, without keeping each field's weight."""
    total = np.zeros(len(levels), dtype=np.float64)
    for c, comparison in enumerate(comparisons):  # summed in `score`'s order, so the same to the last bit
        table = np.log2(np.asarray(params.m[comparison.name]) / np.asarray(params.u[comparison.name]))
        table = np.append(table, 0.0)  # MISSING (-1) reads the last entry: no weight
        total += table[levels[:, c]]
    total += math.log2(params.lam / (1 - params.lam))
    return 1.0 / (1.0 + np.exp2(-np.clip(total, -1000, 1000)))


def score(levels: np.ndarray, comparisons: list[Comparison], params: Params) -> tuple[np.ndarray, np.ndarray]:
    """(match weight per pair and field, probability per pair)."""
    weights = np.zeros(levels.shape, dtype=np.float64)
    for c, comparison in enumerate(comparisons):
        table = np.log2(np.asarray(params.m[comparison.name]) / np.asarray(params.u[comparison.name]))
        column = levels[:, c]
        weights[:, c] = np.where(column >= 0, table[np.where(column >= 0, column, 0)], 0.0)
    total = weights.sum(axis=1) + math.log2(params.lam / (1 - params.lam))
    probability = 1.0 / (1.0 + np.exp2(-np.clip(total, -1000, 1000)))
    return weights, probability


# --- 4. clusters ----------------------------------------------------------------------------------------------


def clusters_of(
    records: Records,
    comparisons: list[Comparison],
    pairs: np.ndarray,
    levels: np.ndarray,
    weights: np.ndarray,
    probability: np.ndarray,
    threshold: float,
    *,
    max_reasons: int = 50,
) -> list[Cluster]:
    """Connected components of the pairs at or above `threshold` (union–find, strongest pair first)."""
    chosen = np.nonzero(probability >= threshold)[0]
    chosen = chosen[np.argsort(-probability[chosen], kind="stable")]
    parent: dict[int, int] = {}
    weakest: dict[int, float] = {}

    def root(i: int) -> int:
        parent.setdefault(i, i)
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for k in chosen.tolist():
        a, b = root(int(pairs[k, 0])), root(int(pairs[k, 1]))
        if a != b:
            parent[b] = a
            weakest[a] = min(weakest.get(a, 1.0), weakest.get(b, 1.0), float(probability[k]))
    members: dict[int, list[int]] = defaultdict(list)
    for i in list(parent):
        members[root(i)].append(i)
    reasons: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for k in chosen.tolist():
        i, j = int(pairs[k, 0]), int(pairs[k, 1])
        found = reasons[root(i)]
        if len(found) < max_reasons:
            found.append(pair_reason(records, comparisons, i, j, levels[k], weights[k], float(probability[k])))
    found_clusters = [
        Cluster(
            members=[records.keys[i] for i in sorted(group)], score=round(weakest.get(r, 1.0), 6), reasons=reasons[r]
        )
        for r, group in members.items()
        if len(group) > 1
    ]
    found_clusters.sort(key=lambda c: (-c.score, c.members))
    return found_clusters


def pair_reason(
    records: Records,
    comparisons: list[Comparison],
    i: int,
    j: int,
    levels: np.ndarray,
    weights: np.ndarray,
    probability: float,
) -> dict[str, Any]:
    """Why a pair was proposed: each field's level and weight (fields missing on a side are left out)."""
    fields = {
        c.name: {"level": c.levels[int(levels[k])], "weight": round(float(weights[k]), 2)}
        for k, c in enumerate(comparisons)
        if levels[k] >= 0
    }
    return {"a": records.keys[i], "b": records.keys[j], "probability": round(probability, 6), "fields": fields}


def _all_pairs(group: list[str]) -> int:
    sizes: dict[str, int] = defaultdict(int)
    for g in group:
        sizes[g] += 1
    return sum(k * (k - 1) // 2 for k in sizes.values())


# --- 5. the whole run -----------------------------------------------------------------------------------------


def match(
    records: Records,
    comparisons: list[Comparison],
    rules: list[BlockingRule],
    *,
    threshold: float = 0.9,
    params: Params | None = None,
    skip: set[frozenset[str]] | None = None,
    max_block: int = 1000,
    window: int = 10,
    u_pairs: int = 100_000,
    em_pairs: int = 300_000,
    progress: Progress | None = None,
    seed: int = 1,
) -> Result:
    """Block, compare, estimate (unless `params` are given), score and cluster. `skip`: pairs of record keys
    never to propose (the "not a duplicate" decisions)."""
    say = progress or (lambda stage, share: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    say("blocking", 0.0)
    pairs, stats = block(records, rules, max_block=max_block, window=window)
    if skip and len(pairs):
        n = len(records)
        where = {key: i for i, key in enumerate(records.keys)}
        refused = [sorted(where[k] for k in pair) for pair in skip if len(pair) == 2 and all(k in where for k in pair)]
        codes = np.asarray([i * n + j for i, j in refused], dtype=np.int64)
        keep = ~np.isin(pairs[:, 0] * n + pairs[:, 1], codes)
        stats["skipped_not_duplicates"] = int((~keep).sum())
        pairs = pairs[keep]
    timings["blocking_s"] = time.perf_counter() - started
    say("comparing", 0.0)
    began = time.perf_counter()
    levels = compare(records, comparisons, pairs)
    timings["comparing_s"] = time.perf_counter() - began
    began = time.perf_counter()
    if params is None:
        say("estimating", 0.0)
        u = estimate_u(records, comparisons, max_pairs=u_pairs, seed=seed)
        # EM needs no more than a large random sample of the candidate pairs
        sample = np.arange(len(pairs))
        if len(pairs) > em_pairs:
            sample = np.sort(np.random.default_rng(seed).choice(len(pairs), size=em_pairs, replace=False))
        membership = rule_membership(records, rules, pairs[sample])
        params = estimate_m(
            levels[sample],
            comparisons,
            u,
            rules=rules,
            membership=membership,
            total_pairs=_all_pairs(records.group) * len(sample) // max(len(pairs), 1),
        )
    timings["estimating_s"] = time.perf_counter() - began
    say("clustering", 0.0)
    began = time.perf_counter()
    probability = probability_of(levels, comparisons, params)
    chosen = np.flatnonzero(probability >= threshold)  # only these pairs' field weights are needed, for reasons
    weights, _same = score(levels[chosen], comparisons, params)
    found = clusters_of(records, comparisons, pairs[chosen], levels[chosen], weights, probability[chosen], threshold)
    timings["clustering_s"] = time.perf_counter() - began
    stats.update({k: round(v, 3) for k, v in timings.items()})
    stats.update({"records": len(records), "pairs_scored": len(pairs), "clusters": len(found)})
    return Result(pairs=pairs, levels=levels, probability=probability, params=params, clusters=found, stats=stats)
