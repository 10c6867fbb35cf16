-- Who may do what to whose job: every job function, called by the job's
-- owner, by another unprivileged role, by a superuser, and by a member of a
-- NOLOGIN role that owns a job (as itself, and after SET ROLE to that
-- role).  README, Design, "Threat model", states the rules checked here.
SET timezone = 'UTC';
-- job ids that do not depend on the suites before this one
SELECT setval(pg_get_serial_sequence('sessionize.jobs', 'job_id'), 800, false) IS NOT NULL AS ids_from_800;

CREATE ROLE regress_roles_owner LOGIN;
CREATE ROLE regress_roles_other LOGIN;
CREATE ROLE regress_roles_team NOLOGIN;
CREATE ROLE regress_roles_member LOGIN IN ROLE regress_roles_team;
CREATE SCHEMA roles_o AUTHORIZATION regress_roles_owner;
CREATE SCHEMA roles_t AUTHORIZATION regress_roles_team;
GRANT USAGE ON SCHEMA roles_o, roles_t TO regress_roles_other;

SET ROLE regress_roles_owner;
CREATE TABLE roles_o.ev (u int, ts timestamptz);
CREATE INDEX ON roles_o.ev (u, ts);
INSERT INTO roles_o.ev VALUES (1, '2026-01-01 00:00'), (1, '2026-01-01 00:05'), (2, '2026-01-01 00:00');
-- the other role may read the source (and, below, the target): what it may
-- do to the job depends on the job's owner, not on that
GRANT SELECT ON roles_o.ev TO regress_roles_other;
RESET ROLE;
SET ROLE regress_roles_team;
CREATE TABLE roles_t.ev (u int, ts timestamptz);
CREATE INDEX ON roles_t.ev (u, ts);
INSERT INTO roles_t.ev VALUES (7, '2026-01-01 00:00'), (7, '2026-01-01 01:00');
-- a job of the team, for the member to drop at the end
SELECT sessionize.create_job('roles_t.ev', 'u', 'ts', interval '10 minutes', target => 'roles_t.spare')
  AS spare \gset
RESET ROLE;

-- outcome(who, statement): runs statement as who ('owner', 'other',
-- 'superuser', 'member', or 'member as team': the member's session after
-- SET ROLE regress_roles_team) and returns 'ok' with the statement's one value,
-- or the SQLSTATE of its error.  Role switches are undone on the way out.
CREATE FUNCTION pg_temp.outcome(who text, stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    me text := session_user;
    value text;
    result text;
BEGIN
    BEGIN
        PERFORM set_config('session_authorization',
                           CASE who WHEN 'owner' THEN 'regress_roles_owner' WHEN 'other' THEN 'regress_roles_other'
                                    WHEN 'superuser' THEN me ELSE 'regress_roles_member' END, true);
        PERFORM set_config('role', CASE who WHEN 'member as team' THEN 'regress_roles_team' ELSE 'none' END, true);
        EXECUTE stmt INTO value;
        result := 'ok' || coalesce(': ' || nullif(value, ''), '');
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS result = RETURNED_SQLSTATE;
    END;
    PERFORM set_config('session_authorization', me, true);
    PERFORM set_config('role', 'none', true);
    RETURN result;
END
$$;

-- The jobs: A of regress_roles_owner on its table; S of the superuser on the same
-- table; M of regress_roles_member (as itself) and T of regress_roles_team (the member
-- after SET ROLE) on the team's table.  The other role's attempt on the
-- owner's table fails (no TRIGGER).
SELECT 'create_job' AS function,
       pg_temp.outcome('owner', $$SELECT sessionize.create_job('roles_o.ev', 'u', 'ts', interval '10 minutes') > 0$$) AS owner,
       pg_temp.outcome('other', $$SELECT sessionize.create_job('roles_o.ev', 'u', 'ts', interval '10 minutes',
                                                               target => 'roles_o.x') > 0$$) AS other,
       pg_temp.outcome('superuser', $$SELECT sessionize.create_job('roles_o.ev', 'u', 'ts', interval '10 minutes',
                                                                   target => 'roles_o.s') > 0$$) AS superuser,
       pg_temp.outcome('member', $$SELECT sessionize.create_job('roles_t.ev', 'u', 'ts', interval '10 minutes',
                                                                target => 'roles_t.m') > 0$$) AS member,
       pg_temp.outcome('member as team', $$SELECT sessionize.create_job('roles_t.ev', 'u', 'ts', interval '10 minutes',
                                                                        target => 'roles_t.t') > 0$$) AS member_as_team;
SELECT target, CASE WHEN owner = session_user::regrole THEN 'the superuser' ELSE owner::text END AS owner,
       (SELECT relowner FROM pg_class WHERE oid = target) = owner AS owns_target
FROM sessionize.jobs ORDER BY job_id;
SELECT job_id AS a FROM sessionize.jobs WHERE target = 'roles_o.ev_sessions'::regclass \gset
SELECT job_id AS s FROM sessionize.jobs WHERE target = 'roles_o.s'::regclass \gset
SELECT job_id AS m FROM sessionize.jobs WHERE target = 'roles_t.m'::regclass \gset
SELECT job_id AS t FROM sessionize.jobs WHERE target = 'roles_t.t'::regclass \gset
GRANT SELECT ON roles_o.ev_sessions TO regress_roles_other;

-- Then, on job A for the owner, the other role and the superuser, and on
-- the team's job T for the member: job_status is readable by all; run_job,
-- verify and alter_job need membership in the job's owner (which every
-- superuser has).  The member's new gap re-creates the team's triggers,
-- with the TRIGGER privilege the member has through the team.
SELECT 'job_status' AS function,
       pg_temp.outcome('owner', 'SELECT count(*) FROM sessionize.job_status') AS owner,
       pg_temp.outcome('other', 'SELECT count(*) FROM sessionize.job_status') AS other,
       pg_temp.outcome('superuser', 'SELECT count(*) FROM sessionize.job_status') AS superuser,
       pg_temp.outcome('member', 'SELECT count(*) FROM sessionize.job_status') AS member,
       pg_temp.outcome('member as team', 'SELECT count(*) FROM sessionize.job_status') AS member_as_team
UNION ALL
SELECT 'run_job',
       pg_temp.outcome('owner', format('SELECT events_inserted FROM sessionize.run_job(%s)', :a)),
       pg_temp.outcome('other', format('SELECT events_inserted FROM sessionize.run_job(%s)', :a)),
       pg_temp.outcome('superuser', format('SELECT events_inserted FROM sessionize.run_job(%s)', :a)),
       pg_temp.outcome('member', format('SELECT events_inserted FROM sessionize.run_job(%s)', :t)),
       pg_temp.outcome('member as team', format('SELECT events_inserted FROM sessionize.run_job(%s)', :t))
UNION ALL
SELECT 'verify',
       pg_temp.outcome('owner', format('SELECT count(*) FROM sessionize.verify(%s)', :a)),
       pg_temp.outcome('other', format('SELECT count(*) FROM sessionize.verify(%s)', :a)),
       pg_temp.outcome('superuser', format('SELECT count(*) FROM sessionize.verify(%s)', :a)),
       pg_temp.outcome('member', format('SELECT count(*) FROM sessionize.verify(%s)', :t)),
       pg_temp.outcome('member as team', format('SELECT count(*) FROM sessionize.verify(%s)', :t))
UNION ALL
SELECT 'alter_job',
       pg_temp.outcome('owner', format($$SELECT sessionize.alter_job(%s, allowed_lateness => '1 minute')$$, :a)),
       pg_temp.outcome('other', format($$SELECT sessionize.alter_job(%s, allowed_lateness => '1 minute')$$, :a)),
       pg_temp.outcome('superuser', format($$SELECT sessionize.alter_job(%s, allowed_lateness => '2 minutes')$$, :a)),
       pg_temp.outcome('member', format($$SELECT sessionize.alter_job(%s, gap => '2 hours')$$, :t)),
       pg_temp.outcome('member as team', format($$SELECT sessionize.alter_job(%s, allowed_lateness => '1 minute')$$, :t));

-- what the calls did
SELECT job_id = :a AS is_a, total_runs, allowed_lateness, gap, pending_rebuild
FROM sessionize.job_status WHERE job_id IN (:a, :t) ORDER BY 1 DESC;
SELECT u, session_start, event_count FROM roles_o.ev_sessions ORDER BY 1, 2;

-- drop_job: the owner drops A; the other role fails on the superuser's S;
-- the superuser drops the member's M; the member drops the team's T; the
-- member as the team drops the team's spare job.
SELECT 'drop_job' AS function,
       pg_temp.outcome('owner', format('SELECT sessionize.drop_job(%s, drop_target => true)', :a)) AS owner,
       pg_temp.outcome('other', format('SELECT sessionize.drop_job(%s, drop_target => true)', :s)) AS other,
       pg_temp.outcome('superuser', format('SELECT sessionize.drop_job(%s, drop_target => true)', :m)) AS superuser,
       pg_temp.outcome('member', format('SELECT sessionize.drop_job(%s, drop_target => true)', :t)) AS member,
       pg_temp.outcome('member as team', format('SELECT sessionize.drop_job(%s, drop_target => true)', :spare))
         AS member_as_team;
SELECT target, owner = session_user::regrole AS owner_is_superuser FROM sessionize.jobs;

-- And what no role but the extension's may call: the internal functions
-- and the capture trigger function.  (capture() becomes not executable by
-- PUBLIC with the capture rewrite of issue 7, defect 1.)  _job_backlog()
-- is the exception: job_status calls it for whoever reads the view, and it
-- returns counts and a time of any job's log, no row data.
SELECT p.oid::regprocedure AS function
FROM pg_proc p
WHERE p.pronamespace = 'sessionize'::regnamespace AND p.proname LIKE '\_%'
  AND has_function_privilege('public', p.oid, 'EXECUTE')
ORDER BY p.oid::regprocedure::text;
SELECT has_function_privilege('public', 'sessionize.capture()', 'EXECUTE') AS capture_executable_by_public;

SELECT sessionize.drop_job(:s, drop_target => true);
DROP TABLE roles_o.ev, roles_t.ev;
DROP SCHEMA roles_o, roles_t;
DROP FUNCTION pg_temp.outcome(text, text);
DROP ROLE regress_roles_owner, regress_roles_other, regress_roles_member, regress_roles_team;
SELECT count(*) AS jobs_left FROM sessionize.jobs;
