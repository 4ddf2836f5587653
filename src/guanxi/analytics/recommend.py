"""Item-to-item co-purchase recommendations, and their hit rate on each customer's held-out last order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

Ints = NDArray[np.int64]


@dataclass
class Baskets:
    """Customer × product purchase matrix (1 = bought at least once)."""

    customers: Ints
    products: Ints
    matrix: sparse.csr_matrix


def baskets(customer_keys: Ints, product_ids: Ints) -> Baskets:
    customers, ci = np.unique(customer_keys, return_inverse=True)
    products, pi = np.unique(product_ids, return_inverse=True)
    m = sparse.csr_matrix((np.ones(ci.size), (ci, pi)), shape=(customers.size, products.size), dtype=np.float64)
    m.data[:] = 1.0  # duplicates summed by the constructor count once
    return Baskets(customers, products, m)


def cooccurrence(b: Baskets) -> sparse.csr_matrix:
    """Product × product similarity: co-buyers ÷ √(buyers of each) (cosine), diagonal removed."""
    c = (b.matrix.T @ b.matrix).tocsr()
    buyers = np.sqrt(np.asarray(c.diagonal()))
    buyers[buyers == 0] = 1
    scale = sparse.diags(1 / buyers)
    sim = (scale @ c @ scale).tolil()
    sim.setdiag(0)
    return sim.tocsr()


def recommend(b: Baskets, sim: sparse.csr_matrix, k: int = 10) -> list[list[int]]:
    """Top-k product ids per customer (rows of `b`), never ones they have bought already."""
    scores = (b.matrix @ sim).toarray() if b.products.size <= 5000 else None
    out: list[list[int]] = []
    for row in range(b.customers.size):
        s = scores[row] if scores is not None else np.asarray((b.matrix[row] @ sim).todense()).ravel()
        owned = b.matrix[row].indices
        s = s.copy()
        s[owned] = -np.inf
        candidates = np.flatnonzero(s > 0)
        top = candidates[np.argsort(-s[candidates], kind="stable")[:k]]
        out.append([int(b.products[i]) for i in top])
    return out


def most_popular(b: Baskets, k: int = 10) -> list[list[int]]:
    """The baseline: the k most-bought products each customer does not have yet."""
    popularity = np.asarray(b.matrix.sum(axis=0)).ravel()
    ranked = np.argsort(-popularity, kind="stable")
    out = []
    for row in range(b.customers.size):
        owned = set(b.matrix[row].indices.tolist())
        out.append([int(b.products[i]) for i in ranked if i not in owned][:k])
    return out


def hit_rate_last_order(
    order_customer: Ints, order_rank_from_last: Ints, line_order: Ints, line_product: Ints, k: int = 10
) -> dict[str, float]:
    """Hit rate@k of co-purchase vs most-popular on each repeat customer's held-out last order.

    `order_rank_from_last[i]` is 0 for a customer's last order, 1 for the one before …; lines are
    (order index, product id). A hit: a product of the last order that the customer had not bought
    before is among their top k. Customers whose last order only repeats old products are skipped.
    """
    is_last = order_rank_from_last[line_order] == 0
    train_c, train_p = order_customer[line_order[~is_last]], line_product[~is_last]
    b = baskets(train_c, train_p)
    sim = cooccurrence(b)
    recs, popular = recommend(b, sim, k), most_popular(b, k)
    held: dict[int, set[int]] = {}
    for c, p in zip(order_customer[line_order[is_last]], line_product[is_last], strict=True):
        held.setdefault(int(c), set()).add(int(p))
    index = {int(c): i for i, c in enumerate(b.customers)}
    hits = base_hits = judged = 0
    for customer, products in held.items():
        row = index.get(customer)
        if row is None:
            continue  # a one-order customer: nothing to recommend from
        new = products - {int(b.products[j]) for j in b.matrix[row].indices}
        if not new:
            continue
        judged += 1
        hits += bool(new & set(recs[row]))
        base_hits += bool(new & set(popular[row]))
    return {
        "customers": judged,
        "hit_rate": round(hits / judged, 4) if judged else 0.0,
        "hit_rate_popular": round(base_hits / judged, 4) if judged else 0.0,
        "k": k,
    }
