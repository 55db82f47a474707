"""Applying the reference schema to a target (`chatgate init`, and the embedded default)."""

from chatgate.errors import SetupError
from chatgate.options import Settings
from chatgate.target import Target, open_target


def ensure_reference_schema(
    target: Target, *, schema: str | None = None, rls: bool = False
) -> None:
    """Migrate the target to the reference schema's head revision (idempotent)."""
    from reference_schema.migrations import apply_schema

    try:
        apply_schema(
            target.dsn.asyncpg_url(),
            schema=schema or "public",
            rls=rls,
            connect_kwargs=target.dsn.asyncpg_kwargs(),
        )
    except SetupError:
        raise
    except Exception as exc:
        from chatgate.target import connect_error

        if isinstance(exc, OSError) or "connect" in type(exc).__name__.lower():
            raise connect_error(exc, target.dsn) from None
        raise SetupError(
            f"applying the reference schema failed: {type(exc).__name__}: {exc}",
            fix="run `chatgate init --debug` for details",
        ) from None


def open_prepared_target(s: Settings) -> Target:
    """The target; a harness-owned server (embedded, docker) gets the reference schema first."""
    target = open_target(s.dsn, target=s.target, pooled=s.pooled or None)
    if target.kind in ("embedded", "docker"):
        try:
            ensure_reference_schema(target, schema=s.schema)
        except BaseException:
            target.close()
            raise
    return target
