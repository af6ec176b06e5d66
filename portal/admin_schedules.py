"""The admin API's schedules (`/admin/schedules`, behind the admin token): what `dmlake schedule` does, over HTTP.

A data manager's dashboard lists each source's schedule, where it comes from, whether it is paused and its next and
last run; sets or clears a run-time schedule; pauses, resumes, or asks for a run now. The scheduler daemon applies
what is written here within a few seconds (`harvester.scheduler.ScheduleBook`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Body, Depends, HTTPException

from harvester.config import ConfigError, SourcesConfig
from harvester.scheduler import POLL_SECONDS, ScheduleBook, plan, running_daemon
from harvester.schedules import ScheduleSyntaxError, parse_schedule
from portal.admin import require_token

if TYPE_CHECKING:
    from dmlake.lake import Lake


def schedule_routes(lake: Lake) -> APIRouter:
    schedules = APIRouter(prefix="/admin/schedules", tags=["admin"], dependencies=[Depends(require_token)])
    engine = lake.catalogue.engine
    book = ScheduleBook(engine)

    def configured(source: str | None = None) -> SourcesConfig:
        try:
            config = lake.sources()
        except ConfigError as error:
            raise HTTPException(500, detail=f"the sources file cannot be read: {error}") from None
        if source is not None and source not in config.sources:
            raise HTTPException(
                404, detail=f"no source named {source!r}; configured: {', '.join(config.sources) or '(none)'}"
            )
        return config

    def applied(source: str, **done: Any) -> dict[str, Any]:
        daemon = running_daemon(engine)
        when = "when `dmlake scheduler run` starts" if daemon is None else f"within {POLL_SECONDS:g} s"
        entry = next(e for e in plan(engine, configured()) if e.source == source)
        return {**done, "schedule": entry.to_json(), "applies": when}

    @schedules.get("", summary="Each source's schedule, where it comes from, paused or not, next and last run")
    def schedule_list() -> dict[str, Any]:
        daemon = running_daemon(engine)
        return {
            "scheduler": None
            if daemon is None
            else {"host": daemon.host, "pid": daemon.pid, "since": daemon.since.isoformat()},
            "sources": [entry.to_json() for entry in plan(engine, configured())],
        }

    @schedules.put("/{source}", summary="Set a run-time schedule; it wins over the sources file's until cleared")
    def schedule_set(
        source: str,
        schedule: str = Body(embed=True, description='"every 6h", "every 30m", "@daily" or cron in UTC'),
    ) -> dict[str, Any]:
        configured(source)
        try:
            parsed = parse_schedule(schedule)
        except ScheduleSyntaxError as error:
            raise HTTPException(400, detail=f"schedule of {source}: {error}") from None
        book.set(source, parsed)
        return applied(source, set=parsed.text)

    @schedules.delete("/{source}", summary="Drop the run-time schedule: the sources file's applies again")
    def schedule_clear(source: str) -> dict[str, Any]:
        configured(source)
        book.clear(source)
        return applied(source, cleared=True)

    @schedules.post("/{source}/pause", summary="Start no scheduled runs of the source until resumed")
    def schedule_pause(source: str) -> dict[str, Any]:
        configured(source)
        book.pause(source, True)
        return applied(source, paused=True)

    @schedules.post("/{source}/resume", summary="Start scheduled runs of the source again")
    def schedule_resume(source: str) -> dict[str, Any]:
        configured(source)
        book.pause(source, False)
        return applied(source, paused=False)

    @schedules.post("/{source}/run-now", summary="Ask the scheduler to run the source now")
    def schedule_run_now(source: str) -> dict[str, Any]:
        configured(source)
        book.request_run(source)
        return applied(source, run_requested=True)

    return schedules
