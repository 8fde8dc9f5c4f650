"""The data layer: the only code that imports PynamoDB.

One module per table (`campaigns`, `targets`, `promises`, `conversations`, `messages`, `optouts`,
`counters`, `contact_log`, `imports`, `dedupe`, `access_log`, `phone_index`), each mapping items to and
from the domain models of `shared.domain.models`. Use them as `from shared.data import targets; targets.get(id)`.

Importing one table module loads that table's model only (and the tables it writes with). The schema
of them all (`create_tables`, `delete_tables`, `table_specs`, `TableSpec`: `shared.data.schema`, which
imports every table module) loads when one of those names is first asked for here: the sandbox, the
tests and the CDK app need it, a Lambda worker never does.
"""

from typing import TYPE_CHECKING, Any

from shared.data.base import Binding, TransitionConflict, bind, table_name

if TYPE_CHECKING:
    from shared.data.schema import TableSpec, create_tables, delete_tables, table_specs

_SCHEMA = frozenset({"TableSpec", "create_tables", "delete_tables", "table_specs"})

__all__ = [
    "Binding",
    "TableSpec",
    "TransitionConflict",
    "bind",
    "create_tables",
    "delete_tables",
    "table_name",
    "table_specs",
]


def __getattr__(name: str) -> Any:
    if name not in _SCHEMA:
        # Not a schema name: `from shared.data import targets` then imports the submodule.
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from shared.data import schema

    return getattr(schema, name)
