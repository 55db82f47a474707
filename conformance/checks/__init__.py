"""The check catalogue: importing this package registers every area's checks.

Each area module registers its checks with `@check(...)` when imported; `conformance.engine`
orders them by area (structure, isolation, cascade, ordering, time, perf). A new area module
gets one line here: a plain import, so a broken module fails loudly instead of silently
dropping its checks.
"""

from conformance.checks import cascade, indexes, isolation, ordering, plan, structure, time_checks

__all__ = ["cascade", "indexes", "isolation", "ordering", "plan", "structure", "time_checks"]
