"""`field__any=[…]`: IN over many values as one parameter, so a query over thousands of ids stays cheap to send.

Thousands of "%s" make the driver's query parsing the slowest part of such a query, and a sub-select of
`unnest(…)` hides the values from the planner (an OR of two of them becomes a sequential scan). As one array
(`= ANY(%s)` on PostgreSQL, `json_each(%s)` on SQLite) the planner still walks the column's index.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Field, ForeignObject, Lookup


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = sorted(self.rhs)
        if connection.vendor == "postgresql":
            kind = self.lhs.output_field.db_type(connection)  # a foreign key's is its target's ("bigint")
            return f"{lhs} = ANY(%s::{kind}[])", (*lhs_params, values)
        return f"{lhs} IN (SELECT value FROM json_each(%s))", (*lhs_params, json.dumps(values))


# foreign keys keep their own lookups (`account_id__any` goes through ForeignObject's, not Field's)
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)
