-- bench/state-select.sql - pgbench script for bench/state.sh: the
-- single-row select the postgres provider runs for a GET
-- (modules/postgres/docs.c, aster_doc_get), a random key among :keys.
\set k random(0, :keys - 1)
SELECT value, version FROM bench_documents WHERE namespace = 'bench' AND key = 'k' || :k;
