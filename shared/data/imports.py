"""Import jobs table: hash `id`. One item per uploaded spreadsheet or ERP sync, updated as it progresses."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from pynamodb.attributes import Attribute, NumberAttribute, UnicodeAttribute
from pynamodb.constants import STRING
from pynamodb.exceptions import PutError, UpdateError

from shared.data.attributes import IsoDateTimeAttribute
from shared.data.base import (
    TableModel,
    is_condition_failure,
    record_kwargs,
    set_actions,
    to_domain,
    validate_changes,
)
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import ImportJob, ImportRowError

_ERRORS = TypeAdapter(list[ImportRowError])
_IMMUTABLE = ("id", "campaign_id", "created_at")


class RowErrorsAttribute(Attribute[list[ImportRowError]]):
    """The first few row errors, as one JSON string (they are only ever read together)."""

    attr_type = STRING

    def serialize(self, value: Any) -> str:
        return _ERRORS.dump_json(value).decode()

    def deserialize(self, value: str) -> list[ImportRowError]:
        return _ERRORS.validate_json(value)


class ImportRecord(TableModel):
    class Meta:
        suffix = "imports"

    id = UnicodeAttribute(hash_key=True)
    campaign_id = UnicodeAttribute()
    status = UnicodeAttribute()
    filename = UnicodeAttribute(null=True)
    source = UnicodeAttribute()
    total_rows = NumberAttribute()
    imported = NumberAttribute()
    customers_created = NumberAttribute(default=0)
    customers_updated = NumberAttribute(default=0)
    duplicates = NumberAttribute()
    rejected = NumberAttribute()
    errors = RowErrorsAttribute()
    report_key = UnicodeAttribute(null=True)
    failure = UnicodeAttribute(null=True)
    sync_filter = UnicodeAttribute(null=True)
    cursor = UnicodeAttribute(null=True)
    created_at = IsoDateTimeAttribute()
    finished_at = IsoDateTimeAttribute(null=True)


def create(job: ImportJob) -> ImportJob:
    """Store a new import job; `Conflict` if the id is taken."""
    try:
        ImportRecord(**record_kwargs(job)).save(condition=ImportRecord.id.does_not_exist())
    except PutError as exc:
        if is_condition_failure(exc):
            raise Conflict(f"import {job.id} already exists") from exc
        raise
    return job


def get(import_id: str) -> ImportJob:
    """The import job; `NotFound` if there is none."""
    try:
        return to_domain(ImportJob, ImportRecord.get(import_id, consistent_read=True))
    except ImportRecord.DoesNotExist:
        raise NotFound(f"import {import_id} not found") from None


def update(import_id: str, **changes: Any) -> ImportJob:
    """Change fields (status, counts, errors, finished_at...); `NotFound` if missing."""
    values = validate_changes(ImportJob, changes, forbidden=_IMMUTABLE)
    if not values:
        return get(import_id)
    record = ImportRecord(import_id)
    try:
        record.update(actions=set_actions(ImportRecord, values), condition=ImportRecord.id.exists())
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"import {import_id} not found") from exc
        raise
    return to_domain(ImportJob, record)
