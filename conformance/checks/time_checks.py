"""time.session_timezone: sessions with different TimeZone settings must record true instants."""

import datetime as dt
from typing import Any

from conformance.access import NewMessage
from conformance.context import CheckContext
from conformance.harness import harness_session
from conformance.registry import Outcome, check, failed, passed

ZONES = ("UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Kiritimati")
TOLERANCE_S = 60.0


def instant(value: Any) -> dt.datetime | None:
    """A stored time as an aware instant (naive values are read as UTC, per the spec)."""
    if not isinstance(value, dt.datetime):
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def drift(value: Any, low: dt.datetime, high: dt.datetime) -> float | None:
    """Seconds outside [low, high] (0 inside); None when the value is not a timestamp."""
    t = instant(value)
    if t is None:
        return None
    if t < low:
        return (low - t).total_seconds()
    return max((t - high).total_seconds(), 0.0)


@check(
    "time.session_timezone",
    "must",
    "rows appended by sessions with different TimeZone settings carry created_at values "
    "that denote the true instant (within 60 s of the harness clock)",
    writes=True,
)
async def session_timezone(ctx: CheckContext) -> Outcome:
    async with harness_session(ctx) as h:
        a, conn = h.access, h.conn
        bad: list[dict[str, Any]] = []
        for n, zone in enumerate(ZONES, start=1):
            low = dt.datetime.now(dt.UTC)
            async with conn.transaction():
                await conn.execute(f"SET LOCAL TimeZone = '{zone}'")
                user = await a.create_user(conn, n=n)
                conv = await a.create_conversation(conn, user_id=user)
                rows = await a.append_turn(
                    conn,
                    conversation_id=conv["id"],
                    user_id=user,
                    messages=[NewMessage(a.roles[0], zone)],
                )
            high = dt.datetime.now(dt.UTC)
            stored = {
                "conversations.created_at": conv.get("created_at"),
                "messages.created_at": rows[0].get("created_at") if rows else None,
            }
            for column, value in stored.items():
                off = drift(value, low, high)
                if off is not None and off > TOLERANCE_S:
                    bad.append(
                        {
                            "session_timezone": zone,
                            "column": column,
                            "stored": str(value),
                            "harness_clock": low.isoformat(),
                            "off_by_s": round(off, 1),
                        }
                    )
        if bad:
            first = bad[0]
            return failed(
                f"{first['column']} written in a {first['session_timezone']} session "
                f"is off by {first['off_by_s']} s",
                wrong=bad,
                fix="use timestamp with time zone (timestamptz) columns",
            )
        return passed(
            f"created_at is the true instant in sessions with TimeZone {', '.join(ZONES)}",
            zones=list(ZONES),
        )
