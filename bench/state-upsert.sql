-- bench/state-upsert.sql - pgbench script for bench/state.sh: the
-- single-row upsert the postgres provider runs for a PUT without a
-- condition (modules/postgres/docs.c, aster_doc_put_any), on an equal
-- table, a random key among :keys. The value is the one state-put.lua
-- sends, its colons written \x3a (pgbench would read ":name" as a
-- variable).
\set k random(0, :keys - 1)
INSERT INTO bench_documents (namespace, key, value, version) VALUES ('bench', 'k' || :k, E'{"n"\x3a42,"s"\x3a"bench","ok"\x3atrue}', nextval('bench_document_version')) ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, version = nextval('bench_document_version') RETURNING version, (xmax = 0) AS created;
