-- Installing the extension: version, schema, objects.
CREATE EXTENSION sessionize;

SELECT extversion, extrelocatable, nspname AS extension_namespace
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'sessionize';

-- The control file's default version is the installed one.
SELECT default_version = installed_version AS up_to_date
FROM pg_available_extensions WHERE name = 'sessionize';

-- Every object lives in schema sessionize ...
SELECT count(*) AS objects_outside_schema
FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
WHERE d.refclassid = 'pg_extension'::regclass
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'sessionize')
  AND p.pronamespace <> 'sessionize'::regnamespace;

-- ... and every user-facing function, aggregate and type has a comment.
SELECT p.oid::regprocedure::text AS missing_comment
FROM pg_proc p
WHERE p.pronamespace = 'sessionize'::regnamespace
  AND obj_description(p.oid, 'pg_proc') IS NULL
UNION ALL
SELECT t.oid::regtype::text
FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid
WHERE t.typnamespace = 'sessionize'::regnamespace AND c.relkind = 'c'
  AND obj_description(t.oid, 'pg_type') IS NULL
UNION ALL
SELECT c.oid::regclass::text
FROM pg_class c
WHERE c.relnamespace = 'sessionize'::regnamespace AND c.relkind IN ('r', 'v', 'p')
  AND obj_description(c.oid, 'pg_class') IS NULL;

-- The catalog tables are kept by pg_dump.
SELECT unnest(extconfig)::regclass AS dumped_config
FROM pg_extension WHERE extname = 'sessionize' ORDER BY 1;

-- The user-facing API.
SELECT p.oid::regprocedure AS function, p.prokind
FROM pg_proc p
WHERE p.pronamespace = 'sessionize'::regnamespace
  AND p.proname NOT LIKE '%fn' AND p.proname NOT LIKE '\_%'
ORDER BY p.oid::regprocedure::text COLLATE "C";

-- The library loaded, whether preloaded or not.
SELECT sessionize.session_id(t, 1::bigint) OVER (ORDER BY t) FROM (VALUES (1::bigint), (3)) v(t);

-- The extension is not relocatable.
CREATE SCHEMA elsewhere;
ALTER EXTENSION sessionize SET SCHEMA elsewhere;
DROP SCHEMA elsewhere;

-- Dropping and re-creating works.
DROP EXTENSION sessionize;
SELECT count(*) AS leftover_schema FROM pg_namespace WHERE nspname = 'sessionize';
CREATE EXTENSION sessionize;

-- A pre-existing schema named sessionize (here created by another role) is
-- never adopted: CREATE EXTENSION fails instead.
DROP EXTENSION sessionize;
CREATE ROLE regress_sessionize_squatter;
CREATE SCHEMA sessionize AUTHORIZATION regress_sessionize_squatter;
\set VERBOSITY terse
CREATE EXTENSION sessionize;
\set VERBOSITY default
DROP SCHEMA sessionize;
DROP ROLE regress_sessionize_squatter;
CREATE EXTENSION sessionize;
SELECT extversion FROM pg_extension WHERE extname = 'sessionize';
