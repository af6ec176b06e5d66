"""The admin HTTP API: what `dmlake` offers a data manager, behind a token — and Prometheus metrics at `/metrics`.

Every `/admin/…` request needs `Authorization: Bearer <token>`, the token being the value of `DMLAKE_ADMIN_TOKEN`
in the service's environment. A missing or wrong token is a 401; with no token configured the admin API refuses
everything (503, saying how to set one), so an unconfigured service never exposes it.

    GET  /admin/sources                          configured sources, with live records, quarantine, last run
    GET  /admin/runs?source=&limit=              recent runs                        (dmlake runs)
    GET  /admin/runs/{id}                        one run, its fetch errors and quarantined records (dmlake run show)
    POST /admin/runs/{id}/abort?reason=          mark aborted, interrupt its process (dmlake run abort)
    GET  /admin/errors?source=&field=&error_class=&format=json|csv     grouped quarantine   (dmlake errors)
    GET  /admin/errors/records?…&limit=&offset=&format=json|csv        the records          (dmlake errors --records)
    POST /admin/errors/retry?source=&field=&error_class=               re-map, no fetching  (dmlake errors retry)
    POST /admin/remap/{source}                                         re-map every record  (dmlake remap)
    GET  /admin/deletions?source=                disappearances held by the guard   (dmlake deletions list)
    POST /admin/deletions/{source}/confirm       tombstone them                     (dmlake deletions confirm)
    POST /admin/deletions/{source}/reject        keep the records                   (dmlake deletions reject)

Retry, remap and confirm run in the request and bring the search index up to date before answering.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException
from fastapi import Query as Param
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select

from connectors import registry
from dmlake.lake import Lake
from harvester.config import ConfigError
from harvester.remap import RemapError, Remapper, RemapReport
from harvester.runs import RunRow, Runs, SourceBusy
from harvester.schema import quarantine, records, runs
from harvester.triage import ErrorFilter, ErrorGroup, QuarantinedRecord, error_groups, export, quarantined_records
from portal.metrics import metrics_router

TOKEN_ENV = "DMLAKE_ADMIN_TOKEN"
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dmlake admin"'}


def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
    expected = os.environ.get(TOKEN_ENV, "")
    if not expected:
        raise HTTPException(
            503,
            detail=f"the admin API is disabled: set {TOKEN_ENV} in the service's environment to a long random secret "
            "(e.g. `openssl rand -hex 32`) and send it as `Authorization: Bearer <token>`",
        )
    scheme, _, given = (authorization or "").partition(" ")
    if not authorization:
        raise HTTPException(
            401, detail="this needs the admin token: Authorization: Bearer <token>", headers=BEARER_CHALLENGE
        )
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise HTTPException(401, detail="wrong admin token", headers=BEARER_CHALLENGE)


def admin_router(lake: Lake) -> APIRouter:
    """The admin API (token required) and `/metrics` (open, like any Prometheus target), as one router."""
    from portal.admin_schedules import schedule_routes  # it needs `require_token` from this module

    router = APIRouter()
    router.include_router(metrics_router(lake.catalogue.engine))
    router.include_router(_admin_routes(lake))
    router.include_router(schedule_routes(lake))
    return router


ExportParam = Annotated[Literal["json", "csv"], Param(description="json, or csv for a spreadsheet.")]


def _admin_routes(lake: Lake) -> APIRouter:
    admin = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_token)])
    engine = lake.catalogue.engine

    # -- sources -----------------------------------------------------------------------------------------------
    @admin.get("/sources", summary="Configured sources, with their records, quarantine and last run")
    def sources() -> dict[str, Any]:
        try:
            configured = lake.sources()
        except ConfigError as error:
            raise HTTPException(500, detail=f"the sources file cannot be read: {error}") from None
        with engine.connect() as conn:
            live_rows = conn.execute(
                select(records.c.source, func.count()).where(records.c.tombstone.is_(None)).group_by(records.c.source)
            )
            live = {row[0]: int(row[1]) for row in live_rows}
            held_rows = conn.execute(select(quarantine.c.source, func.count()).group_by(quarantine.c.source))
            held = {row[0]: int(row[1]) for row in held_rows}
            last_rows = conn.execute(select(runs.c.source, func.max(runs.c.id)).group_by(runs.c.source))
            last = {row[0]: int(row[1]) for row in last_rows}
        runs_ = Runs(engine)
        listed = []
        for name, source in configured.sources.items():
            last_run = runs_.get(last[name]) if name in last else None
            listed.append(
                {
                    "name": name,
                    "kind": source.spec.kind,
                    "url": source.spec.url,
                    "enabled": source.enabled,
                    "schedule": source.schedule,
                    "live_records": live.get(name, 0),
                    "quarantined": held.get(name, 0),
                    "notify": None
                    if source.notify is None
                    else {
                        "email": list(source.notify.email),
                        "webhook": source.notify.webhook is not None,
                        "on": list(source.notify.on),
                    },
                    "last_run": _run_json(last_run) if last_run else None,
                }
            )
        return {"path": configured.path, "sources": listed}

    # -- runs ----------------------------------------------------------------------------------------------------
    @admin.get("/runs", summary="Recent runs, newest first")
    def run_list(
        source: Annotated[str | None, Param(description="Only this source.")] = None,
        limit: Annotated[int, Param(ge=1, le=1000)] = 50,
    ) -> dict[str, Any]:
        return {"runs": [_run_json(row) for row in Runs(engine).recent(source, limit)]}

    @admin.get("/runs/{run_id}", summary="One run: counts, timings, requests, fetch errors, quarantined records")
    def run_show(run_id: int) -> dict[str, Any]:
        runs_ = Runs(engine)
        row = runs_.get(run_id)
        if row is None:
            raise HTTPException(404, detail=f"no run {run_id}")
        quarantined = [r.to_json() for r in quarantined_records(engine, ErrorFilter(row.source)) if r.run_id == run_id]
        fetch_errors = [{"native_id": n, "url": u, "message": m} for n, u, m in runs_.errors(run_id)]
        return {**_run_json(row), "fetch_errors": fetch_errors, "quarantined_records": quarantined}

    @admin.post("/runs/{run_id}/abort", summary="Mark a run aborted and interrupt its process")
    def run_abort(
        run_id: int, reason: Annotated[str | None, Param(description="Kept in the run's message.")] = None
    ) -> dict[str, Any]:
        from harvester.run_control import RunNotAbortable, RunNotFound, abort_run

        try:
            return abort_run(engine, run_id, wait_seconds=5.0, reason=reason).to_json()
        except RunNotFound as error:
            raise HTTPException(404, detail=str(error)) from None
        except RunNotAbortable as error:
            raise HTTPException(409, detail=str(error)) from None

    # -- errors ----------------------------------------------------------------------------------------------------
    @admin.get("/errors", summary="The quarantine grouped by source, stage, error class and field")
    def errors(
        source: str | None = None,
        field: str | None = None,
        error_class: str | None = None,
        format: ExportParam = "json",
    ) -> Response:
        groups = error_groups(engine, ErrorFilter(source, field, error_class))
        if format == "csv":
            return _csv(export(groups, "csv", ErrorGroup), "errors.csv")
        return JSONResponse({"total": sum(g.records for g in groups), "groups": [g.to_json() for g in groups]})

    @admin.get("/errors/records", summary="Quarantined records")
    def error_records(
        source: str | None = None,
        field: str | None = None,
        error_class: str | None = None,
        limit: Annotated[int, Param(ge=1, le=10000)] = 1000,
        offset: Annotated[int, Param(ge=0)] = 0,
        format: ExportParam = "json",
    ) -> Response:
        rows = quarantined_records(engine, ErrorFilter(source, field, error_class), limit, offset)
        if format == "csv":
            return _csv(export(rows, "csv", QuarantinedRecord), "quarantined-records.csv")
        return JSONResponse({"records": [r.to_json() for r in rows], "offset": offset, "limit": limit})

    @admin.post("/errors/retry", summary="Map quarantined records again from the raw store (no fetching)")
    def errors_retry(
        source: str | None = None, field: str | None = None, error_class: str | None = None
    ) -> JSONResponse:
        return _remapping(lake, lambda remapper: remapper.retry(source, field=field, error_class=error_class))

    @admin.post("/remap/{source}", summary="Map every record of a source again from the raw store (no fetching)")
    def remap(source: str) -> JSONResponse:
        return _remapping(lake, lambda remapper: [remapper.remap(source)])

    # -- deletions -----------------------------------------------------------------------------------------------
    @admin.get("/deletions", summary="Disappearances held back by the mass-deletion guard")
    def deletions(source: str | None = None) -> dict[str, Any]:
        pending = lake.catalogue.pending_deletions(source)
        return {
            "total": len(pending),
            "pending": [{"source": s, "record_id": r, "detected_at": d.isoformat()} for s, r, d in pending],
        }

    @admin.post("/deletions/{source}/confirm", summary="Tombstone a source's held-back disappearances")
    def deletions_confirm(source: str) -> dict[str, Any]:
        done = lake.catalogue.confirm_pending_deletions(source)
        lake.update_index()
        return {"source": source, "tombstoned": len(done), "records": done}

    @admin.post("/deletions/{source}/reject", summary="Keep the records: forget a source's held-back disappearances")
    def deletions_reject(source: str) -> dict[str, Any]:
        return {"source": source, "dropped": lake.catalogue.reject_pending_deletions(source)}

    return admin


def _remapping(lake: Lake, work: Callable[[Remapper], list[RemapReport]]) -> JSONResponse:
    try:
        with Remapper(lake.catalogue, registry()) as remapper:
            reports = work(remapper)
    except RemapError as error:
        raise HTTPException(404, detail=str(error)) from None
    except SourceBusy as error:
        raise HTTPException(409, detail=str(error)) from None
    if any(r.counts.added or r.counts.updated for r in reports):
        lake.update_index()
    failed = any(r.state != "succeeded" for r in reports)
    return JSONResponse({"runs": [r.to_json() for r in reports]}, status_code=500 if failed else 200)


def _run_json(row: RunRow) -> dict[str, Any]:
    c = row.counts
    return {
        "id": row.id,
        "source": row.source,
        "mode": row.mode,
        "state": row.state,
        "started_at": row.started_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "heartbeat_at": row.heartbeat_at.isoformat() if row.heartbeat_at else None,
        "duration_seconds": row.duration_seconds,
        "host": row.host,
        "pid": row.pid,
        "pages": row.pages,
        "counts": {name: getattr(c, name) for name in c.__dataclass_fields__},
        "requests": row.requests,
        "retries": row.retries,
        "not_modified": row.not_modified,
        "message": row.message,
    }


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
