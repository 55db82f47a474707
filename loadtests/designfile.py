"""Discovery for load runs, and the `Design` as a JSON file Locust processes read.

Locust processes run under gevent, where asyncpg does not belong; the runner discovers with
asyncpg and hands the design over as a file. A plain `locust -f loadtests/locustfile.py` run
without one calls `python -m loadtests.designfile` (DSN in CHATGATE_DSN) in a subprocess instead.
"""

import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from chatgate.options import Settings
from chatgate.target import Target, open_target
from conformance.design import ColumnInfo, Design, Fill, TableRef


def design_to_json(design: Design) -> str:
    """The whole design (not just the report view) as JSON text."""
    return json.dumps(asdict(design))


def design_from_json(text: str) -> Design:
    """The design `design_to_json` wrote."""
    d: dict[str, Any] = json.loads(text)
    return Design(
        schema=d["schema"],
        tables={k: TableRef(**v) for k, v in d["tables"].items()},
        columns={
            t: {lc: ColumnInfo(**c) for lc, c in cols.items()} for t, cols in d["columns"].items()
        },
        key_kinds=d["key_kinds"],
        order_key=tuple(d["order_key"]),
        order_rule=d["order_rule"],
        roles=tuple(d["roles"]) if d.get("roles") is not None else None,
        rls=d.get("rls", {}),
        fills=tuple(Fill(**f) for f in d.get("fills", ())),
        extra_required={
            t: tuple(ColumnInfo(**c) for c in cols)
            for t, cols in d.get("extra_required", {}).items()
        },
        notes=tuple(d.get("notes", ())),
    )


async def discover_design(target: Target, settings: Settings) -> tuple[Design, str]:
    """Snapshot the catalogue and map the chat design; also the server version."""
    from conformance.discovery import discover
    from conformance.snapshot import take_snapshot

    conn = await target.connect()
    try:
        snapshot = await take_snapshot(conn)
    finally:
        await conn.close()
    return discover(snapshot, settings), snapshot.server_version


def write_design(design: Design, path: Path) -> Path:
    """Write the design file; returns the path."""
    path.write_text(design_to_json(design))
    return path


def main(argv: list[str]) -> int:
    """`python -m loadtests.designfile [DSN]`: print the discovered design as JSON.

    Without an argument the DSN comes from CHATGATE_DSN (keeps a password out of `ps`).
    """
    with open_target(argv[0] if argv else None) as target:
        design, _ = asyncio.run(discover_design(target, Settings()))
    sys.stdout.write(design_to_json(design) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
