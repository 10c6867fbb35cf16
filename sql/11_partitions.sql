-- Jobs on partitioned sources: writes addressed to any partition, TRUNCATE
-- of one, partitions created, attached, detached and dropped (as
-- pg_partman's maintenance and retention do) keep the target exact.
-- target_diff() (the plain-SQL reference) comes from 10_capture.
SET timezone = 'UTC';
-- job ids from 1101, whatever ran before
SELECT setval(pg_get_serial_sequence('sessionize.jobs', 'job_id'), 1100) > 0 AS ids_set;

CREATE TABLE pev (u int, ts timestamptz, page text) PARTITION BY RANGE (ts);
CREATE TABLE pev_jan PARTITION OF pev FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE pev_feb PARTITION OF pev FOR VALUES FROM ('2026-02-01') TO ('2026-03-01') PARTITION BY HASH (u);
CREATE TABLE pev_feb_0 PARTITION OF pev_feb FOR VALUES WITH (MODULUS 2, REMAINDER 0);
-- a partition whose columns are in another order, after a dropped one
CREATE TABLE pev_feb_1 (junk int, page text, ts timestamptz, u int);
ALTER TABLE pev_feb_1 DROP COLUMN junk;
ALTER TABLE pev_feb ATTACH PARTITION pev_feb_1 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE INDEX ON pev (u, ts);
INSERT INTO pev SELECT i % 6, timestamptz '2026-01-31 20:00' + i * interval '7 minutes', 'p'
FROM generate_series(1, 100) i;

SELECT sessionize.create_job('pev', 'u', 'ts', interval '10 minutes') AS job \gset
-- capture on the parent and every partition, at every level
SELECT rel, count(t.*) AS triggers
FROM sessionize.job_relations r LEFT JOIN pg_trigger t ON t.tgrelid = r.rel AND t.tgfoid = 'sessionize.capture()'::regprocedure
WHERE r.job_id = :job GROUP BY rel ORDER BY rel::text;
SELECT full_rebuild FROM sessionize.run_job(:job);

-- writes addressed to partitions
INSERT INTO pev_jan VALUES (1, '2026-01-31 23:55', 'direct');
INSERT INTO pev_feb_1 (u, ts, page) SELECT u, ts + interval '1 minute', 'direct' FROM pev_feb_1 ORDER BY ts LIMIT 3;
UPDATE pev_feb_0 SET ts = ts + interval '30 minutes' WHERE ts < '2026-02-01 02:00';
DELETE FROM pev_jan WHERE u = 2;
SELECT events_inserted, events_deleted, full_rebuild FROM sessionize.run_job(:job);
SELECT target_diff('pev_sessions', 'pev', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- TRUNCATE of one partition
TRUNCATE pev_feb_0;
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT target_diff('pev_sessions', 'pev', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- a new partition gets capture; direct writes to it count
CREATE TABLE pev_mar PARTITION OF pev FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
SELECT count(*) AS triggers FROM pg_trigger
WHERE tgrelid = 'pev_mar'::regclass AND tgfoid = 'sessionize.capture()'::regprocedure;
INSERT INTO pev_mar VALUES (3, '2026-03-01 00:01', 'm'), (3, '2026-03-01 00:05', 'm');
SELECT events_inserted, full_rebuild FROM sessionize.run_job(:job);
SELECT target_diff('pev_sessions', 'pev', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- ATTACH of a table with rows: the next run rebuilds
CREATE TABLE pev_apr (u int, ts timestamptz, page text);
INSERT INTO pev_apr VALUES (1, '2026-04-02', 'a'), (1, '2026-04-02 00:09', 'a');
ALTER TABLE pev ATTACH PARTITION pev_apr FOR VALUES FROM ('2026-04-01') TO ('2026-05-01');
INSERT INTO pev_apr VALUES (1, '2026-04-02 00:15', 'a');
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT target_diff('pev_sessions', 'pev', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- DETACH: its rows leave the source, and writes to it no longer count
ALTER TABLE pev DETACH PARTITION pev_apr;
SELECT count(*) AS triggers_on_detached FROM pg_trigger
WHERE tgrelid = 'pev_apr'::regclass AND tgfoid = 'sessionize.capture()'::regprocedure;
INSERT INTO pev_apr VALUES (5, '2026-04-03', 'x');
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT target_diff('pev_sessions', 'pev', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- DROP of a partition (retention): rebuilt from what is left
DROP TABLE pev_jan;
SELECT full_rebuild FROM sessionize.run_job(:job);
SELECT target_diff('pev_sessions', 'pev', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

-- creating and detaching an empty partition changes no session: no rebuild
CREATE TABLE pev_may PARTITION OF pev FOR VALUES FROM ('2026-05-01') TO ('2026-06-01');
ALTER TABLE pev DETACH PARTITION pev_may;
SELECT full_rebuild FROM sessionize.run_job(:job);

-- replicated writes (session_replication_role = replica) through the
-- parent and to a partition
SET session_replication_role = replica;
INSERT INTO pev VALUES (4, '2026-03-05', 'r');
INSERT INTO pev_mar VALUES (4, '2026-03-05 00:03', 'r');
DELETE FROM pev_feb_1 WHERE ts < (SELECT min(ts) + interval '1 hour' FROM pev_feb_1);
RESET session_replication_role;
SELECT events_inserted, events_deleted, full_rebuild FROM sessionize.run_job(:job);
SELECT target_diff('pev_sessions', 'pev', interval '10 minutes') AS differences;
SELECT count(*) AS verify_differences FROM sessionize.verify(:job);

SELECT sessionize.drop_job(:job, drop_target => true);
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgfoid = 'sessionize.capture()'::regprocedure;
SELECT count(*) AS relations_left FROM sessionize.job_relations;
DROP TABLE pev, pev_apr, pev_may;
DROP FUNCTION target_diff(regclass, regclass, interval, name, name, name);
