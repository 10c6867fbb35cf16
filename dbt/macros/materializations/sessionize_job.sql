{#-
    materialized='sessionize_job': a sessions model kept exact across runs
    by a sessionize job (README, "Incremental jobs"), instead of being
    rebuilt or filtered by is_incremental():

        {{ config(materialized='sessionize_job',
                  meta={'sessionize': {'user_column': 'user_id', 'time_column': 'event_ts',
                                       'gap': '30 minutes', 'allowed_lateness': '1 hour',
                                       'measures': "sum(amount) AS revenue, first(url) AS landing_page"}}) }}
        select * from {{ ref('events') }}

    The model's SQL names the source, a table with a timestamptz,
    timestamp or bigint time column, and nothing else: a job sessionizes a
    whole table (filter in a model downstream).  For timestamp times the
    gap and allowed_lateness are intervals ('30 minutes'); for bigint times
    integers in the unit of the times (1800000 for 30 minutes of epoch
    milliseconds), as the window-function macros take them (_gap()).
    allowed_lateness defaults to 0.  measures, optional, is the list that
    create_job(measures => ...) takes (README, "Per-session measures").
    The model's relation is the job's target, with the columns
    (<user_column>, session_start, last_event_at, session_end, event_count,
    closed) and one per measure; its times are of the source's time type.

    Each run, in one transaction:
    - no job keeps the model's relation yet (first run, or the job went
      with its source: `dbt seed --full-refresh` drops and recreates a
      seed, and the extension's event trigger drops the jobs of a dropped
      table): create_job(), reusing the relation if it is a table of the
      target's shape, measure columns included (so that views on it
      survive), else replacing it;
    - --full-refresh (or full_refresh=true): drop_job() with its target,
      and create_job() anew;
    - a job on another source or other columns: the same;
    - another gap or allowed_lateness: alter_job() (a new gap rebuilds);
    - other measures, measures added or removed: alter_job(measures =>
      ...), which replaces the measure columns (the run rebuilds).  The
      lists are compared as the extension parses them (parse_measures()
      against the job's job_measures), so that a change of spacing or case
      is none, and a run with the same measures only reads the catalog;
    then run_job(), which builds the target on a job's first run and
    otherwise applies what changed since the last run: new events, late
    ones, updates, deletes.
-#}
{% materialization sessionize_job, adapter='postgres' %}

    {%- set settings = sessionize._job_settings() -%}
    {%- set source_relation = sessionize._job_source(sql) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set grant_config = config.get('grants') -%}
    {%- set full_refresh = should_full_refresh() -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    -- `BEGIN` happens here:
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {#- (after the hooks: one of them may create the extension) -#}
    {%- do sessionize._require_extension() -%}

    {%- set job = sessionize._job_of(target_relation) -%}
    {%- set recreate = full_refresh -%}
    {%- if job is not none and not recreate -%}
        {%- set same = sessionize._first_row(sessionize._job_comparison(job['job_id'], source_relation, settings)) -%}
        {%- if not (same['same_source'] and same['same_columns']) -%}
            {{ log("sessionize: job " ~ job['job_id'] ~ " of " ~ target_relation ~ " has another source or other columns; re-creating it", info=True) }}
            {%- set recreate = true -%}
        {%- else -%}
            {%- if not (same['same_gap'] and same['same_lateness']) -%}
                {%- call statement('sessionize_alter_job') -%}
                    select sessionize.alter_job({{ job['job_id'] }},
                                                gap => {{ sessionize._gap(settings['gap']) }},
                                                allowed_lateness => {{ sessionize._gap(settings['allowed_lateness'], 'allowed_lateness') }})
                {%- endcall -%}
            {%- endif -%}
            {%- do sessionize._sync_measures(job['job_id'], settings['measures']) -%}
        {%- endif -%}
    {%- endif -%}

    {%- if job is not none and recreate -%}
        {%- call statement('sessionize_drop_job') -%}
            select sessionize.drop_job({{ job['job_id'] }}, drop_target => true)
        {%- endcall -%}
        {%- if existing_relation is not none -%}
            {%- do adapter.cache_dropped(existing_relation) -%}
        {%- endif -%}
        {%- set existing_relation = none -%}
        {%- set job = none -%}
    {%- endif -%}

    {%- if job is none -%}
        {#- a relation the job cannot take over as its target goes -#}
        {%- if existing_relation is not none
              and (full_refresh or not sessionize._can_be_target(existing_relation, source_relation, settings)) -%}
            {{ log("sessionize: replacing " ~ existing_relation ~ " with the target of a new job", info=not full_refresh) }}
            {%- do adapter.drop_relation(existing_relation) -%}
            {%- set existing_relation = none -%}
        {%- endif -%}
        {%- call statement('sessionize_create_job', fetch_result=True) -%}
            select sessionize.create_job(
                {{ sessionize._regclass(source_relation) }},
                {{ sessionize._literal(settings['user_column']) }},
                {{ sessionize._literal(settings['time_column']) }},
                {{ sessionize._gap(settings['gap']) }},
                target => pg_catalog.format('%I.%I', {{ sessionize._literal(target_relation.schema) }}, {{ sessionize._literal(target_relation.identifier) }}),
                allowed_lateness => {{ sessionize._gap(settings['allowed_lateness'], 'allowed_lateness') }}
                {%- if settings['measures'] != '' %},
                measures => {{ sessionize._literal(settings['measures']) }}
                {%- endif -%}) as job_id
        {%- endcall -%}
        {%- set job_id = load_result('sessionize_create_job')['data'][0][0] -%}
        {%- do adapter.cache_added(target_relation) -%}
    {%- else -%}
        {%- set job_id = job['job_id'] -%}
    {%- endif -%}

    {% call statement('main', fetch_result=True) -%}
        select * from sessionize.run_job({{ job_id }})
    {%- endcall %}
    {%- set run = load_result('main')['table'].rows[0] -%}
    {{ log("sessionize: job " ~ job_id ~ " of " ~ target_relation ~ ": "
           ~ ("full build" if run['full_rebuild'] else "incremental")
           ~ ", events +" ~ run['events_inserted'] ~ " -" ~ run['events_deleted']
           ~ " (late " ~ run['late_events'] ~ "), sessions +" ~ run['sessions_inserted']
           ~ " ~" ~ run['sessions_updated'] ~ " -" ~ run['sessions_deleted']
           ~ ", watermark " ~ run['watermark'], info=True) }}

    {{ run_hooks(post_hooks, inside_transaction=True) }}

    {%- set should_revoke = should_revoke(existing_relation, full_refresh_mode=(existing_relation is none)) -%}
    {%- do apply_grants(target_relation, grant_config, should_revoke=should_revoke) -%}
    {%- do persist_docs(target_relation, model) -%}

    -- `COMMIT` happens here
    {{ adapter.commit() }}

    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}


{#- The job's settings, from the model's meta: {'sessionize': {...}}.
    gap and allowed_lateness as the model gives them (text for an interval,
    an integer for bigint times; allowed_lateness 0 of the gap's kind by
    default), measures as text ('' for none). -#}
{% macro _job_settings() -%}
    {%- set given = config.meta_get('sessionize') -%}
    {%- if given is not mapping -%}
        {{ exceptions.raise_compiler_error("sessionize: a sessionize_job model needs its settings in its meta: config(materialized='sessionize_job', meta={'sessionize': {'user_column': ..., 'time_column': ..., 'gap': ...}})") }}
    {%- endif -%}
    {%- for key in given -%}
        {%- if key not in ['user_column', 'time_column', 'gap', 'allowed_lateness', 'measures'] -%}
            {{ exceptions.raise_compiler_error("sessionize: unknown setting '" ~ key ~ "' (user_column, time_column, gap, allowed_lateness, measures)") }}
        {%- endif -%}
    {%- endfor -%}
    {%- for key in ['user_column', 'time_column', 'gap'] -%}
        {%- if given.get(key) is none or (given.get(key) | string) == '' -%}
            {{ exceptions.raise_compiler_error("sessionize: a sessionize_job model needs meta.sessionize." ~ key) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set gap = given['gap'] -%}
    {%- set lateness = given.get('allowed_lateness') -%}
    {%- if lateness is none or (lateness | string) == '' -%}
        {%- set lateness = 0 if (gap is number and gap is not sameas true and gap is not sameas false) else '0' -%}
    {%- endif -%}
    {%- set measures = given.get('measures') -%}
    {%- if measures is none -%}
        {%- set measures = '' -%}
    {%- elif measures is not string -%}
        {{ exceptions.raise_compiler_error("sessionize: meta.sessionize.measures must be a string such as \"sum(amount) AS revenue, first(url) AS landing_page\", got " ~ measures) }}
    {%- elif (measures | trim) == '' -%}
        {%- set measures = '' -%}
    {%- endif -%}
    {{ return({'user_column': given['user_column'], 'time_column': given['time_column'],
               'gap': gap, 'allowed_lateness': lateness, 'measures': measures}) }}
{%- endmacro %}

{#- The one table a sessionize_job model reads: the relation of its one
    ref() or source(), checked against its SQL, which must be
    `select * from <that relation>` (comments and a trailing semicolon
    aside): a job keeps the sessions of a whole table, so a filter or a
    join in the model would be silently ignored. -#}
{% macro _job_source(compiled_sql) -%}
    {%- set found = [] -%}
    {%- for r in model.refs -%}
        {%- if r.get('package') -%}
            {%- do found.append(ref(r['package'], r['name'], v=r.get('version'))) -%}
        {%- else -%}
            {%- do found.append(ref(r['name'], v=r.get('version'))) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for s in model.sources -%}
        {%- do found.append(source(s[0], s[1])) -%}
    {%- endfor -%}
    {%- set usage = "write the model as `select * from {{ ref('events') }}` (or a source()), naming the events table and nothing else" -%}
    {%- if (found | length) != 1 -%}
        {{ exceptions.raise_compiler_error("sessionize: a sessionize_job model reads exactly one table, this one names " ~ (found | length) ~ "; " ~ usage) }}
    {%- endif -%}
    {%- set relation = found[0] -%}
    {%- if relation.is_cte -%}
        {{ exceptions.raise_compiler_error("sessionize: the source of a sessionize_job model must be a table, not the ephemeral model " ~ relation) }}
    {%- endif -%}
    {%- set re = modules.re -%}
    {%- set text = re.sub('/\\*.*?\\*/', ' ', compiled_sql, flags=re.S) -%}
    {%- set text = re.sub('--[^\\n]*', ' ', text) -%}
    {%- set text = re.sub('\\s+', ' ', text).strip().rstrip(';').strip() -%}
    {%- if not re.fullmatch('(?i)select \\* from ' ~ re.escape(relation | string), text) -%}
        {{ exceptions.raise_compiler_error("sessionize: a sessionize_job model keeps the sessions of a whole table; " ~ usage ~ " (filter or join in a model downstream), not: " ~ text) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}

{#- Whether the job job_id has the model's source and columns, gap and
    lateness (of the kind the model gives: an integer gap is the same only
    as a bigint job's, an interval only as a timestamp job's; a job of the
    other kind is altered, which fails with the extension's message): one
    row of booleans. -#}
{% macro _job_comparison(job_id, source_relation, settings) -%}
    select j.source = {{ sessionize._to_regclass(source_relation) }} as same_source,
           j.user_column = {{ sessionize._literal(settings['user_column']) }}
             and j.target_user_column = {{ sessionize._literal(settings['user_column']) }}
             and j.time_column = {{ sessionize._literal(settings['time_column']) }} as same_columns,
           {{ sessionize._same_job_duration('j.gap', 'j.integer_gap', settings['gap'], 'gap') }} as same_gap,
           {{ sessionize._same_job_duration('j.allowed_lateness', 'j.integer_allowed_lateness', settings['allowed_lateness'], 'allowed_lateness') }} as same_lateness
    from sessionize.jobs j
    where j.job_id = {{ job_id }}
{%- endmacro %}

{#- SQL: whether the jobs catalog's interval column (timestamp jobs) or
    bigint column (bigint jobs) holds value, as _gap() renders it. -#}
{% macro _same_job_duration(interval_column, integer_column, value, what) -%}
    {%- set literal = sessionize._gap(value, what) -%}
    {%- if value is number -%}
        coalesce({{ integer_column }} = {{ literal }}, false)
    {%- else -%}
        coalesce({{ interval_column }} = {{ literal }}, false)
    {%- endif -%}
{%- endmacro %}

{#- Gives job job_id the measures the model asks for ('' for none) unless
    it has them.  alter_job(measures => ...) replaces the target's measure
    columns and makes the run rebuild, even with the list the job has, so
    the lists are compared first, as the extension parses them:
    sessionize.job_measures of the job against parse_measures() of the
    model's list over the job's source and columns (the rows create_job()
    would keep for it), both ways, in one query.  A change of spacing, case
    or quoting is none; names are resolved as create_job() resolves them;
    a list the extension refuses fails with its error.  The query only
    reads: a run whose measures did not change locks the target no more
    than run_job() does.  Returns whether the measures changed. -#}
{% macro _sync_measures(job_id, measures) -%}
    {%- set query -%}
        with wanted as (
            select p.position, p.column_name, p.definition, p.result_type
            from sessionize.jobs j,
                 sessionize.parse_measures(j.source, j.user_column, j.time_column, {{ sessionize._literal(measures) }}) p
            where j.job_id = {{ job_id | int }}),
        has as (
            select m.position, m.column_name, m.definition, m.result_type
            from sessionize.job_measures m
            where m.job_id = {{ job_id | int }})
        select exists ((select * from wanted except all select * from has)
                       union all
                       (select * from has except all select * from wanted)) as differ
    {%- endset -%}
    {%- set row = sessionize._first_row(query) -%}
    {%- if row is none or not row['differ'] -%}
        {{ return(false) }}
    {%- endif -%}
    {%- call statement('sessionize_alter_measures') -%}
        select sessionize.alter_job({{ job_id | int }}, measures => {{ sessionize._literal(measures) }})
    {%- endcall -%}
    {{ log("sessionize: job " ~ job_id ~ ": " ~ ("new measures" if measures != '' else "no measures") ~ "; the run rebuilds", info=True) }}
    {{ return(true) }}
{%- endmacro %}

{#- Whether an existing relation can become the target of a new job as it
    is: a table with exactly the columns create_job() makes, in their
    order: the source's user column, the times of its time column's type,
    event_count and closed, then a column per measure, named and typed as
    parse_measures() says create_job() would make it (create_job() checks
    it again).  One query, which writes nothing. -#}
{% macro _can_be_target(existing_relation, source_relation, settings) -%}
    {%- if not existing_relation.is_table -%}{{ return(false) }}{%- endif -%}
    {%- set query -%}
        select coalesce((
                   select pg_catalog.string_agg(pg_catalog.format('%I %s', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)), ', ' order by a.attnum)
                   from pg_catalog.pg_attribute a
                   where a.attrelid = {{ sessionize._to_regclass(existing_relation) }} and a.attnum > 0 and not a.attisdropped)
               = (select pg_catalog.format('%I %s, session_start %s, last_event_at %s, session_end %s, event_count bigint, closed boolean',
                                           u.attname, pg_catalog.format_type(u.atttypid, u.atttypmod),
                                           pg_catalog.format_type(t.atttypid, null), pg_catalog.format_type(t.atttypid, null),
                                           pg_catalog.format_type(t.atttypid, null))
                  from pg_catalog.pg_attribute u, pg_catalog.pg_attribute t
                  where u.attrelid = {{ sessionize._to_regclass(source_relation) }}
                    and u.attname = {{ sessionize._literal(settings['user_column']) }} and u.attnum > 0 and not u.attisdropped
                    and t.attrelid = u.attrelid
                    and t.attname = {{ sessionize._literal(settings['time_column']) }} and t.attnum > 0 and not t.attisdropped)
                 {%- if settings['measures'] != '' %}
                 || (select coalesce(pg_catalog.string_agg(pg_catalog.format(', %I %s', p.column_name, p.result_type), '' order by p.position), '')
                     from sessionize.parse_measures({{ sessionize._to_regclass(source_relation) }},
                                                    {{ sessionize._literal(settings['user_column']) }},
                                                    {{ sessionize._literal(settings['time_column']) }},
                                                    {{ sessionize._literal(settings['measures']) }}) p)
                 {%- endif %}, false)
               as fits
    {%- endset -%}
    {%- set row = sessionize._first_row(query) -%}
    {{ return(row is not none and row['fits'] == true) }}
{%- endmacro %}
