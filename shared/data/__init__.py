"""The data layer: the only code that imports PynamoDB.

One module per table (`campaigns`, `targets`, `promises`, `conversations`, `messages`, `optouts`,
`counters`, `contact_log`, `imports`, `dedupe`, `idempotency`, `access_log`, `phone_index`), each mapping items to and from the
domain models of `shared.domain.models`. Use them as `from shared.data import targets; targets.get(id)`.
"""

from shared.data.base import Binding, TransitionConflict, bind, table_name
from shared.data.schema import TableSpec, create_tables, delete_tables, table_specs

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
