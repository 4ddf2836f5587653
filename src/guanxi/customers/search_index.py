"""The search indexes the ORM cannot declare: PostgreSQL trigram and pattern indexes, SQLite FTS5 tables.

PostgreSQL: `pg_trgm` GIN indexes serve `contains`/`icontains` (Django writes `UPPER(col::text) LIKE
UPPER(…)` for the case-insensitive lookups, so those columns are indexed on that same expression), and
`text_pattern_ops` B-trees serve exact and prefix matches under a non-C collation.

SQLite: one external-content FTS5 table per record type with the trigram tokenizer, kept in step with
its table by triggers, serves substring matches of three characters or more; `COLLATE NOCASE` B-trees
let SQLite's LIKE (case-insensitive, which is what Django's lookups use there) do prefix and exact
matches by index. `sqlite_fts_ensure` is idempotent: it runs in the migration and again after every
migrate, because SQLite rebuilds a table to alter it and the rebuild drops the table's triggers.
"""

from __future__ import annotations

from typing import Any

# table → columns the FTS5 index holds (the searchable ones)
FTS_COLUMNS = {
    "customers_contact": ("full_name", "name_pinyin", "phone", "email"),
    "customers_account": ("name", "name_pinyin", "registration_number"),
    "customers_lead": ("full_name", "name_pinyin", "company_name", "company_pinyin", "phone", "email"),
}

# SQLite: B-trees for LIKE 'x%' and LIKE 'x' (case-insensitive LIKE needs NOCASE)
SQLITE_NOCASE = {
    "customers_contact": ("full_name", "name_pinyin", "name_initials", "email"),
    "customers_account": ("name", "name_pinyin", "name_initials"),
    "customers_lead": (
        "full_name",
        "name_pinyin",
        "name_initials",
        "company_name",
        "company_pinyin",
        "company_initials",
        "email",
    ),
}

# SQLite: plain B-trees for `=` on columns the ORM does not index (a NOCASE index does not serve `=`)
SQLITE_BINARY = {"customers_lead": ("company_pinyin", "company_initials")}

# PostgreSQL: (index name, table, method, expression)
PG_INDEXES = [
    ("contact_name_trgm", "customers_contact", "gin", "UPPER(full_name::text) gin_trgm_ops"),
    ("contact_name_prefix", "customers_contact", "btree", "UPPER(full_name::text) text_pattern_ops"),
    ("contact_pinyin_trgm", "customers_contact", "gin", "name_pinyin gin_trgm_ops"),
    ("contact_phone_trgm", "customers_contact", "gin", "phone gin_trgm_ops"),
    ("contact_email_trgm", "customers_contact", "gin", "UPPER(email::text) gin_trgm_ops"),
    ("contact_email_upper", "customers_contact", "btree", "UPPER(email::text) text_pattern_ops"),
    ("account_name_trgm", "customers_account", "gin", "UPPER(name::text) gin_trgm_ops"),
    ("account_name_prefix", "customers_account", "btree", "UPPER(name::text) text_pattern_ops"),
    ("account_pinyin_trgm", "customers_account", "gin", "name_pinyin gin_trgm_ops"),
    ("account_regno_trgm", "customers_account", "gin", "registration_number gin_trgm_ops"),
    ("lead_name_trgm", "customers_lead", "gin", "UPPER(full_name::text) gin_trgm_ops"),
    ("lead_name_prefix", "customers_lead", "btree", "UPPER(full_name::text) text_pattern_ops"),
    ("lead_pinyin_trgm", "customers_lead", "gin", "name_pinyin gin_trgm_ops"),
    ("lead_company_trgm", "customers_lead", "gin", "UPPER(company_name::text) gin_trgm_ops"),
    ("lead_company_prefix", "customers_lead", "btree", "UPPER(company_name::text) text_pattern_ops"),
    ("lead_company_pinyin_trgm", "customers_lead", "gin", "company_pinyin gin_trgm_ops"),
    ("lead_company_pinyin_prefix", "customers_lead", "btree", "company_pinyin varchar_pattern_ops"),
    ("lead_company_initials_prefix", "customers_lead", "btree", "company_initials varchar_pattern_ops"),
    ("lead_phone_trgm", "customers_lead", "gin", "phone gin_trgm_ops"),
    ("lead_email_trgm", "customers_lead", "gin", "UPPER(email::text) gin_trgm_ops"),
    ("lead_email_upper", "customers_lead", "btree", "UPPER(email::text) text_pattern_ops"),
]


def fts_table(table: str) -> str:
    return f"{table}_fts"


def _triggers(table: str) -> list[str]:
    fts, cols = fts_table(table), FTS_COLUMNS[table]
    names = ", ".join(cols)
    new = ", ".join(f"new.{c}" for c in cols)
    old = ", ".join(f"old.{c}" for c in cols)
    delete = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    insert = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {names} ON {table} BEGIN {delete} {insert} END",
    ]


def sqlite_fts_ensure(cursor: Any) -> list[str]:
    """Create what is missing (FTS tables, triggers, NOCASE indexes); rebuild an index whose triggers were lost.

    Returns the tables whose FTS index was rebuilt.
    """
    rebuilt = []
    for table, cols in FTS_COLUMNS.items():
        fts = fts_table(table)
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
        present = {row[0] for row in cursor.fetchall()}
        wanted = {f"{fts}_ai", f"{fts}_ad", f"{fts}_au"}
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({', '.join(cols)}, "
            f"content='{table}', content_rowid='id', tokenize='trigram')"
        )
        for statement in _triggers(table):
            cursor.execute(statement)
        if not wanted <= present:
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
            rebuilt.append(table)
        for column in SQLITE_NOCASE[table]:
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {table}_{column}_nocase ON {table} ({column} COLLATE NOCASE)")
        for column in SQLITE_BINARY.get(table, ()):
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {table}_{column}_binary ON {table} ({column})")
    return rebuilt


def sqlite_fts_drop(cursor: Any) -> None:
    for table in FTS_COLUMNS:
        fts = fts_table(table)
        for suffix in ("ai", "ad", "au"):
            cursor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        cursor.execute(f"DROP TABLE IF EXISTS {fts}")
        for column in SQLITE_NOCASE[table]:
            cursor.execute(f"DROP INDEX IF EXISTS {table}_{column}_nocase")
        for column in SQLITE_BINARY.get(table, ()):
            cursor.execute(f"DROP INDEX IF EXISTS {table}_{column}_binary")


def postgres_indexes_create(cursor: Any) -> None:
    cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, method, expression in PG_INDEXES:
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING {method} ({expression})")


def postgres_indexes_drop(cursor: Any) -> None:
    for name, *_rest in PG_INDEXES:
        cursor.execute(f"DROP INDEX IF EXISTS {name}")


def search_indexes_ensure(connection: Any) -> list[str]:
    """Make sure this database has its search indexes; returns the SQLite FTS tables that had to be rebuilt."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            postgres_indexes_create(cursor)
        elif connection.vendor == "sqlite":
            return sqlite_fts_ensure(cursor)
    return []
