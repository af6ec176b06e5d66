"""The date interval a record covers, for the `date` overlap filter and the `date:` field of the search text.

A record covers its temporal coverage (when the data were taken) if it has one, else its issued date. Each end is a
partial ISO 8601 date standing for a whole period: the interval runs from the first second of the start's period
to the last second of the end's ("2011" → 2011-01-01T00:00:00Z … 2011-12-31T23:59:59Z). A coverage with one end
covers that end's period only. Both fields are seconds since 1970 (UTC), both present or both absent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ontology.model import Record

DATE_START_FIELD = "date_start_ts"
DATE_END_FIELD = "date_end_ts"

_EPOCH_DAY = date(1970, 1, 1).toordinal()
DAY_SECONDS = 86_400


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
    last = first if end == start else _period(end)  # (an issued date, or a coverage of one period, is both ends)
    if first is None or last is None:
        return {DATE_START_FIELD: None, DATE_END_FIELD: None}
    low, high = first[0], last[1]
    if low > high:  # a coverage written backwards still covers the time between its ends
        low, high = last[0], first[1]
    return {DATE_START_FIELD: low, DATE_END_FIELD: high}


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
            if is_plain_day(value) and value[:4] != "9999":  # (the day after 9999-12-31 overflows datetime)
                first = day_start(value)
                return first, first + DAY_SECONDS - 1
            day = datetime.fromisoformat(value).replace(tzinfo=UTC)
            return _seconds(day, day + timedelta(days=1))
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    second = int(moment.timestamp())
    return second, second


def is_plain_day(value: str) -> bool:
    """Whether `value` is a day written `YYYY-MM-DD` in ASCII digits, the form most records' dates take."""
    return (
        len(value) == 10
        and value[4] == "-"
        and value[7] == "-"
        and value.isascii()
        and (value[:4] + value[5:7] + value[8:]).isdigit()
    )


def day_start(value: str) -> int:
    """Seconds since 1970 (UTC) at the start of a day `is_plain_day` accepts, without building datetimes (a third
    of the cost); ValueError when there is no such day, as `datetime.fromisoformat` says."""
    ordinal = date(int(value[:4]), int(value[5:7]), int(value[8:])).toordinal()
    return (ordinal - _EPOCH_DAY) * DAY_SECONDS


def _seconds(start: datetime, following: datetime) -> tuple[int, int]:
    return int(start.timestamp()), int(following.timestamp()) - 1
