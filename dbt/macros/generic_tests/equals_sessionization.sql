{#-
    Generic test: the model holds exactly the sessions of its events, as a
    from-scratch sessionization in plain SQL (the README's Semantics
    reference, no sessionize function involved) computes them: every row
    the model has and the reference has not ('unexpected'), and the other
    way round ('missing'), with EXCEPT ALL both ways, so duplicates count.
    It compares the user, session_start, last_event_at, session_end
    (last_event_at + gap, days counting as 24 hours) and event_count.

        models:
          - name: sessions
            data_tests:
              - sessionize.equals_sessionization:
                  arguments:
                    events: ref('events')
                    user_column: user_id
                    time_column: event_ts
                    gap: 30 minutes

    The time column may be timestamptz, timestamp or bigint; for bigint
    times the gap is an integer in their unit (gap: 1800000).  On a
    sessionize_job model the arguments may be left out: they are the
    job's (its source, columns and gap, from the jobs catalog).  Measure
    columns are not compared (job_verifies compares them).
    model_user_column names the user column of the model when it differs
    from the events' (default: the same, or the job's target column).
-#}
{% test equals_sessionization(model, events=none, user_column=none, time_column=none, gap=none, model_user_column=none) -%}
    {{ return(adapter.dispatch('test_equals_sessionization', 'sessionize')(model, events, user_column, time_column, gap, model_user_column)) }}
{%- endtest %}

{% macro default__test_equals_sessionization(model, events, user_column, time_column, gap, model_user_column) -%}
    {{ exceptions.raise_compiler_error("sessionize: equals_sessionization needs dbt-postgres, not adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro postgres__test_equals_sessionization(model, events, user_column, time_column, gap, model_user_column) -%}
    {%- if events is none or user_column is none or time_column is none or gap is none -%}
        {%- if not execute -%}
            {#- parse time: no catalog to read; the SQL is made when the test runs -#}
            {{ return("select null::text as difference where false") }}
        {%- endif -%}
        {%- do sessionize._require_extension() -%}
        {%- set job = sessionize._job_of(model) -%}
        {%- if job is none -%}
            {#- (dbt compile before the first run gets here too) -#}
            {{ return("select 'no sessionize job keeps this model: give equals_sessionization events, user_column, time_column and gap' as difference") }}
        {%- endif -%}
        {%- set events_sql = sessionize._ident(job['source_schema'], 'schema name') ~ '.' ~ sessionize._ident(job['source_name'], 'relation name') -%}
        {%- set user_column = job['user_column'] -%}
        {%- set time_column = job['time_column'] -%}
        {%- set gap = job['gap'] -%}
        {%- if model_user_column is none -%}{%- set model_user_column = job['target_user_column'] -%}{%- endif -%}
    {%- else -%}
        {%- set events_sql = sessionize._from_item(events, 'events (a ref(), a source() or a relation name)') -%}
    {%- endif -%}
    {%- if model_user_column is none -%}{%- set model_user_column = user_column -%}{%- endif -%}
    {%- set u = sessionize._ident(user_column) -%}
    {%- set t = sessionize._ident(time_column) -%}
    {%- if gap is number -%}
        {#- bigint times: the gap in their unit -#}
        {%- set g = sessionize._gap(gap) -%}
    {%- else -%}
        {#- the gap in seconds: "days count as 24 hours" for session_end too -#}
        {%- set g = "pg_catalog.make_interval(secs => pg_catalog.date_part('epoch', " ~ sessionize._gap(gap) ~ "))" -%}
    {%- endif -%}

with sessionize_flagged as (
    select {{ u }} as user_key, {{ t }} as ts,
           case when pg_catalog.lag({{ t }}) over w is null or {{ t }} - pg_catalog.lag({{ t }}) over w > {{ g }}
                then 1 else 0 end as is_new
    from {{ events_sql }}
    where {{ t }} is not null
    window w as (partition by {{ u }} order by {{ t }})
),
sessionize_numbered as (
    select user_key, ts, sum(is_new) over (partition by user_key order by ts rows unbounded preceding) as n
    from sessionize_flagged
),
sessionize_expected as (
    select user_key, min(ts) as session_start, max(ts) as last_event_at,
           max(ts) + {{ g }} as session_end, count(*) as event_count
    from sessionize_numbered
    group by user_key, n
),
sessionize_actual as (
    select {{ sessionize._ident(model_user_column) }} as user_key, session_start, last_event_at, session_end, event_count
    from {{ sessionize._from_item(model) }}
)
select 'missing' as difference, m.* from (select * from sessionize_expected except all select * from sessionize_actual) m
union all
select 'unexpected' as difference, x.* from (select * from sessionize_actual except all select * from sessionize_expected) x
{%- endmacro %}
