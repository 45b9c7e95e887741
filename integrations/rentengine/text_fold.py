"""Accent- and case-insensitive text matching: "Fatima Sandulescu" finds "Fătima Săndulescu".

`fold` is one SQL function on both databases, `ld_fold(text)`: on PostgreSQL an IMMUTABLE wrapper
around the `unaccent` extension and UPPER (migration 0016, which also builds the trigram indexes on
it, so a search still uses an index); on SQLite a Python function registered on every connection.
`name__fold_contains="sandulescu"` then means ld_fold(name) LIKE '%' || ld_fold('sandulescu') || '%'.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import CharField, Lookup, TextField

# Letters NFKD leaves whole but unaccent (and a person typing on a US keyboard) writes as plain ones.
_PLAIN = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "\u0131": "i", "æ": "ae",
                        "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D"})  # fmt: skip


def fold(value: str | None) -> str | None:
    """Upper case without accents, as ld_fold does in the database."""
    if value is None:
        return None
    decomposed = unicodedata.normalize("NFKD", value.translate(_PLAIN))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


class FoldContains(Lookup):
    lookup_name = "fold_contains"

    def get_db_prep_lookup(self, value: Any, connection: Any) -> Any:
        return "%s", [connection.ops.prep_for_like_query(str(value))]

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        escape = " ESCAPE '\\'" if connection.vendor == "sqlite" else ""
        return f"ld_fold({lhs}) LIKE '%%' || ld_fold({rhs}) || '%%'{escape}", [*lhs_params, *rhs_params]


def _register_on_sqlite(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("ld_fold", 1, fold, deterministic=True)


def install() -> None:
    CharField.register_lookup(FoldContains)
    TextField.register_lookup(FoldContains)
    connection_created.connect(_register_on_sqlite, dispatch_uid="ld_fold_sqlite")
