"""Applying the reference schema to a target (`chatgate init`, and the embedded default)."""

from chatgate.errors import SetupError, describe
from chatgate.options import Settings
from chatgate.target import Target, connect_error, open_target


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
        raise _migration_error(exc, target) from None


def _migration_error(exc: Exception, target: Target) -> SetupError:
    """The driver error under SQLAlchemy's wrapping, as one line with a fix."""
    inner = getattr(exc, "orig", None) or exc.__cause__ or exc
    inner = getattr(inner, "__cause__", None) or inner  # SQLAlchemy's adapted asyncpg error
    if isinstance(inner, OSError) or "connect" in type(inner).__name__.lower():
        return connect_error(inner, target.dsn)
    known = describe(inner)
    if known is not None:
        return SetupError(f"applying the reference schema failed: {known.message}", fix=known.fix)
    text = " ".join(str(inner).split()).split("[SQL:", 1)[0].strip()
    return SetupError(
        f"applying the reference schema failed: {type(inner).__name__}: {text}",
        fix="run `chatgate init --debug` for details",
    )


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
