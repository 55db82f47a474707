"""A local stack shaped like Neon: TLS-only PostgreSQL, a PgBouncer `-pooler`, RTT, suspend."""

from chatgate.neon.stack import NeonStack, Status
from chatgate.neon.tools import missing

__all__ = ["NeonStack", "Status", "missing"]
