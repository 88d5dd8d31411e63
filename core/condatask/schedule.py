"""Cron schedules: validation and the next run time, the way the CronJob controller reads them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

# The REST API shows times as "2025-05-01 10:30:00"; we always mean UTC.
REST_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class InvalidSchedule(ValueError):
    """The schedule or time zone cannot be used by a CronJob."""


def validate(schedule: str, time_zone: str | None = None) -> None:
    # The CronJob API rejects TZ= inside the schedule; a time zone has its own field.
    if "TZ=" in schedule:
        raise InvalidSchedule("put the time zone in spec.timeZone, not in the schedule")
    if not croniter.is_valid(schedule):
        raise InvalidSchedule(f"{schedule!r} is not a valid cron schedule")
    zone = _zone(time_zone)
    try:
        croniter(schedule, dt.datetime.now(zone)).get_next(dt.datetime)
    except CroniterBadDateError as error:
        # Valid syntax that never fires, such as the 31st of February.
        raise InvalidSchedule(f"{schedule!r} never fires") from error


def next_run(
    schedule: str, *, time_zone: str | None = None, after: dt.datetime | None = None
) -> dt.datetime:
    """The next time the schedule fires after `after` (now by default), in UTC."""
    validate(schedule, time_zone)
    zone = _zone(time_zone)
    start = (after or dt.datetime.now(dt.UTC)).astimezone(zone)
    fire: dt.datetime = croniter(schedule, start).get_next(dt.datetime)
    return fire.astimezone(dt.UTC)


def _zone(time_zone: str | None) -> dt.tzinfo:
    if not time_zone:
        return dt.UTC
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidSchedule(f"unknown time zone {time_zone!r}") from error


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def rfc3339(moment: dt.datetime) -> str:
    """A timestamp as Kubernetes writes them: UTC, seconds, `Z`."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def rest_time(text: str | None) -> str | None:
    """A status timestamp in the REST API's format."""
    return parse_rfc3339(text).strftime(REST_TIME_FORMAT) if text else None
