"""Catalogue queries (pg_catalog only, PostgreSQL 15-18): raw rows for `conformance.snapshot`.

Every query takes `$1::text[]`, the schemas to read; NULL means every non-system schema.
"""

from collections.abc import Sequence
from typing import Any

import asyncpg

_IN_SCHEMAS = """(CASE WHEN $1::text[] IS NULL
      THEN n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
      ELSE n.nspname = ANY($1::text[]) END)"""

SERVER_SQL = """
SELECT current_setting('server_version') AS server_version,
       current_setting('search_path') AS search_path,
       (current_schemas(false))[1] AS default_schema,
       current_database() AS database,
       current_user AS "user"
"""

SCHEMAS_SQL = f"""
SELECT n.nspname AS name, has_schema_privilege(n.oid, 'USAGE') AS usage
FROM pg_namespace n WHERE {_IN_SCHEMAS} ORDER BY 1
"""

TABLES_SQL = f"""
SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced,
       has_table_privilege(c.oid, 'SELECT') AS readable,
       pn.nspname AS parent_schema, pc.relname AS parent_name
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits inh ON inh.inhrelid = c.oid AND c.relispartition
LEFT JOIN pg_class pc ON pc.oid = inh.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE c.relkind IN ('r', 'p') AND {_IN_SCHEMAS}
ORDER BY 1, 2
"""

COLUMNS_SQL = f"""
SELECT n.nspname AS schema, c.relname AS table, a.attnum AS position, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type,
       CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END AS base,
       CASE WHEN t.typtype = 'd' THEN bt.typtype ELSE t.typtype END::text AS typtype,
       CASE WHEN t.typtype = 'd' THEN btn.nspname ELSE tn.nspname END AS type_schema,
       NOT a.attnotnull AS nullable,
       pg_get_expr(d.adbin, d.adrelid) AS "default",
       a.attidentity::text AS identity, a.attgenerated::text AS generated,
       CASE WHEN a.atttypmod > 4
                 AND (CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END)
                     IN ('varchar', 'bpchar')
            THEN a.atttypmod - 4 END AS max_length
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype AND t.typtype = 'd'
LEFT JOIN pg_namespace btn ON btn.oid = bt.typnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND {_IN_SCHEMAS}
ORDER BY 1, 2, 3
"""

CONSTRAINTS_SQL = f"""
SELECT n.nspname AS schema, c.relname AS table, k.conname AS name, k.contype::text AS type,
       ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
             ORDER BY u.ord) AS columns,
       rn.nspname AS ref_schema, rc.relname AS ref_table,
       ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum
             ORDER BY u.ord) AS ref_columns,
       k.confdeltype::text AS on_delete, k.convalidated AS validated,
       pg_get_constraintdef(k.oid, true) AS definition
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rc ON rc.oid = k.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE k.contype IN ('p', 'u', 'f', 'c', 'x') AND k.conparentid = 0
  AND c.relkind IN ('r', 'p') AND {_IN_SCHEMAS}
ORDER BY 1, 2, 3
"""

INDEXES_SQL = f"""
SELECT n.nspname AS schema, c.relname AS table, ic.relname AS name, am.amname AS method,
       i.indisunique AS is_unique, i.indisprimary AS is_primary, i.indisvalid AS valid,
       i.indnkeyatts AS nkeys,
       ARRAY(SELECT CASE WHEN u.attnum > 0 THEN a.attname::text
                         ELSE '(' || pg_get_indexdef(i.indexrelid, u.ord::int, true) || ')' END
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS u(attnum, ord)
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.attnum
             ORDER BY u.ord) AS columns,
       ARRAY(SELECT (o.opt & 1) = 1 FROM unnest(i.indoption::int2[]) AS o(opt)) AS descending,
       pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
       pg_get_indexdef(i.indexrelid, 0, true) AS definition
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE c.relkind IN ('r', 'p') AND {_IN_SCHEMAS}
ORDER BY 1, 2, 3
"""

ENUMS_SQL = f"""
SELECT n.nspname AS schema, t.typname AS name,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
             ORDER BY e.enumsortorder) AS labels
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND {_IN_SCHEMAS}
ORDER BY 1, 2
"""

POLICIES_SQL = """
SELECT p.schemaname AS schema, p.tablename AS table, p.policyname AS name,
       p.permissive AS permissive, p.roles::text[] AS roles, p.cmd AS command,
       p.qual AS using, p.with_check AS with_check
FROM pg_policies p
WHERE CASE WHEN $1::text[] IS NULL
           THEN p.schemaname NOT IN ('pg_catalog', 'information_schema')
           ELSE p.schemaname = ANY($1::text[]) END
ORDER BY 1, 2, 3
"""

TLS_SQL = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"

CATALOGUE: dict[str, str] = {
    "schemas": SCHEMAS_SQL,
    "tables": TABLES_SQL,
    "columns": COLUMNS_SQL,
    "constraints": CONSTRAINTS_SQL,
    "indexes": INDEXES_SQL,
    "enums": ENUMS_SQL,
    "policies": POLICIES_SQL,
}

Rows = list[dict[str, Any]]


async def server_facts(conn: asyncpg.Connection) -> dict[str, Any]:
    """Server version, search_path, first existing search_path schema, database and user."""
    row = await conn.fetchrow(SERVER_SQL)
    return dict(row) if row is not None else {}


async def fetch_catalogue(
    conn: asyncpg.Connection, *, schemas: Sequence[str] | None = None
) -> dict[str, Rows]:
    """Every catalogue query's rows as plain dicts, keyed like `CATALOGUE`."""
    arg = list(schemas) if schemas is not None else None
    out: dict[str, Rows] = {}
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        for key, sql in CATALOGUE.items():
            out[key] = [dict(r) for r in await conn.fetch(sql, arg)]
    return out


async def uses_tls(conn: asyncpg.Connection) -> bool:
    """Whether this session is encrypted (pg_stat_ssl)."""
    value = await conn.fetchval(TLS_SQL)
    return bool(value)
