"""Sources harvested at the same time (the scheduler runs several at once) write one catalogue side by side: shared
rows stored by content must not collide, and identity resolution must see what the other transaction committed."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from harvester import db
from harvester.catalogue import Catalogue
from harvester.identity import IDENTITY_LOCK
from harvester.schema import raw_payloads


def test_a_payload_stored_meanwhile_by_another_transaction_is_no_conflict(catalogue: Catalogue) -> None:
    row = {
        "sha256": "ab" * 32,
        "media_type": "application/json",
        "size": 2,
        "data": b"{}",
        "first_seen": datetime.now(UTC),
    }
    with catalogue.engine.begin() as conn:
        conn.execute(db.insert_ignoring_duplicates(conn, raw_payloads, ["sha256"]), [row])
    with catalogue.engine.begin() as conn:  # the look-up said "absent", another harvest stored it since
        conn.execute(db.insert_ignoring_duplicates(conn, raw_payloads, ["sha256"]), [row, {**row, "sha256": "cd" * 32}])
    with catalogue.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(raw_payloads)).scalar_one() == 2


def test_identity_resolution_passes_one_transaction_at_a_time(catalogue: Catalogue) -> None:
    """The second transaction waits at the identity lock until the first commits, then sees its rows."""
    order: list[str] = []
    first_holds = threading.Event()

    def second() -> None:
        first_holds.wait(10)
        with catalogue.engine.begin() as conn:
            conn.execute(select(func.count()).select_from(raw_payloads))
            db.serialise_writers(conn, IDENTITY_LOCK)
            order.append("second passes")

    thread = threading.Thread(target=second)
    thread.start()
    with catalogue.engine.begin() as conn:
        db.serialise_writers(conn, IDENTITY_LOCK)
        first_holds.set()
        time.sleep(0.5)
        order.append("first commits")
    thread.join(10)
    if catalogue.engine.dialect.name == "postgresql":
        assert order == ["first commits", "second passes"]
    else:  # SQLite: one writer at a time anyway; the call is free
        assert sorted(order) == ["first commits", "second passes"]
