"""The date interval a record covers, for the `date` overlap filter and the `date:` field of the search text.

A record covers its temporal coverage (when the data were taken) if it has one, else its issued date. Each end is a
partial ISO 8601 date standing for a whole period: the interval runs from the first second of the start's period
to the last second of the end's ("2011" → 2011-01-01T00:00:00Z … 2011-12-31T23:59:59Z). A coverage with one end
covers that end's period only. Both fields are seconds since 1970 (UTC), both present or both absent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from ontology.model import Record

DATE_START_FIELD = "date_start_ts"
DATE_END_FIELD = "date_end_ts"


def date_interval_fields(record: Record) -> dict[str, int | None]:
    """`{date_start_ts, date_end_ts}` of a record (see the module doc)."""
    start: str | None = None
    end: str | None = None
    coverage = record.temporal_coverage
    if coverage is not None and (coverage.start or coverage.end):
        start = str(coverage.start or coverage.end)
        end = str(coverage.end or coverage.start)
    elif record.issued:
        start = end = record.issued
    first = _period(start)
    last = _period(end)
    if first is None or last is None:
        return {DATE_START_FIELD: None, DATE_END_FIELD: None}
    low, high = first[0], last[1]
    if low > high:  # a coverage written backwards still covers the time between its ends
        low, high = last[0], first[1]
    return {DATE_START_FIELD: low, DATE_END_FIELD: high}


@lru_cache(maxsize=4096)  # records of a harvest share their days, months and years
def _period(value: str | None) -> tuple[int, int] | None:
    """The first and last second of the period a partial date names (a full timestamp is its own second)."""
    if not value:
        return None
    try:
        if len(value) == 4:
            year = int(value)
            return _seconds(datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC))
        if len(value) == 7:
            year, month = int(value[:4]), int(value[5:7])
            following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
            return _seconds(datetime(year, month, 1, tzinfo=UTC), following)
        if len(value) == 10:
            day = datetime.fromisoformat(value).replace(tzinfo=UTC)
            return _seconds(day, day + timedelta(days=1))
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    second = int(moment.timestamp())
    return second, second


def _seconds(start: datetime, following: datetime) -> tuple[int, int]:
    return int(start.timestamp()), int(following.timestamp()) - 1
