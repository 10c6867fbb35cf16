{#-
    sessions(relation, user_column, time_column, gap): a SELECT of one row
    per session, with the columns

        <user_column>, session_start, last_event_at, session_end, event_count

    for use as a subquery:

        select * from ({{ sessionize.sessions(ref('events'), 'user_id', 'event_ts', '30 minutes') }}) s

    relation is what ref() or source() returns, including an ephemeral
    model, or the name of a CTE of the model (a string).  The columns are
    names as they are in the catalog; the gap is an interval ('30 minutes').

    Which function it calls depends on what the input is:
    - a table, view or materialized view that exists when the model is
      compiled: sessionize.sessionize(), one pass over the relation with no
      sort, whose column definition list comes from the catalog (the
      types of the user and time columns);
    - anything else (an ephemeral model, a CTE, a relation that does not
      exist yet, a relation dbt renders as a subquery), and always at parse
      time, when dbt runs no query: the grouping aggregate
      sessionize.sessions() with GROUP BY user and unnest().
    Both give the same sessions (README, Semantics).  The times are of the
    time column's type with sessionize(), timestamptz with the aggregate.
-#}
{% macro sessions(relation, user_column, time_column, gap) -%}
    {{ return(adapter.dispatch('sessions', 'sessionize')(relation, user_column, time_column, gap)) }}
{%- endmacro %}

{% macro default__sessions(relation, user_column, time_column, gap) -%}
    {{ exceptions.raise_compiler_error("sessionize: sessions() needs dbt-postgres and the sessionize PostgreSQL extension, not adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro postgres__sessions(relation, user_column, time_column, gap) -%}
    {%- set types = sessionize._session_column_types(relation, user_column, time_column) -%}
    {%- if types is not none -%}
        {{ sessionize._sessions_srf(relation, user_column, time_column, gap, types) }}
    {%- else -%}
        {{ sessionize._sessions_aggregate(relation, user_column, time_column, gap) }}
    {%- endif -%}
{%- endmacro %}

{#- The types of the user and time columns of a relation that exists, as
    the catalog spells them, or none: at parse time, for a CTE or an
    ephemeral model, for a relation dbt renders as a subquery (sampling,
    microbatch filters), for one that does not exist, and when the time
    column is not a timestamp with or without time zone. -#}
{% macro _session_column_types(relation, user_column, time_column) -%}
    {%- if not execute or not sessionize._is_relation(relation) or relation.is_cte
          or relation.limit is not none or relation.event_time_filter is not none
          or not relation.identifier -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select pg_catalog.format_type(u.atttypid, u.atttypmod) as user_type,
               pg_catalog.format_type(t.atttypid, t.atttypmod) as time_type
        from pg_catalog.pg_attribute u
        join pg_catalog.pg_attribute t on t.attrelid = u.attrelid
        where u.attrelid = {{ sessionize._to_regclass(relation) }}
          and u.attname = {{ sessionize._literal(user_column) }} and u.attnum > 0 and not u.attisdropped
          and t.attname = {{ sessionize._literal(time_column) }} and t.attnum > 0 and not t.attisdropped
          and t.atttypid in ('pg_catalog.timestamptz'::pg_catalog.regtype, 'pg_catalog.timestamp'::pg_catalog.regtype)
    {%- endset -%}
    {{ return(sessionize._first_row(query)) }}
{%- endmacro %}

{#- One pass of sessionize() over a relation; types from the catalog
    (format_type() quotes and qualifies what needs it). -#}
{% macro _sessions_srf(relation, user_column, time_column, gap, types) -%}
select s.*
from sessionize.sessionize({{ sessionize._regclass(relation) }}, {{ sessionize._literal(user_column) }}, {{ sessionize._literal(time_column) }}, {{ sessionize._interval(gap) }})
    as s({{ sessionize._ident(user_column) }} {{ types['user_type'] }}, session_start {{ types['time_type'] }}, last_event_at {{ types['time_type'] }}, session_end {{ types['time_type'] }}, event_count bigint)
{%- endmacro %}

{#- The grouping aggregate over anything a FROM clause can name. -#}
{% macro _sessions_aggregate(relation, user_column, time_column, gap) -%}
    {%- set user = sessionize._ident(user_column) -%}
    {%- set from_item = sessionize._from_item(relation) -%}
select g.{{ user }}, s.session_start, s.last_event_at, s.session_end, s.event_count
from (
    select {{ user }}, sessionize.sessions({{ sessionize._ident(time_column) }}, {{ sessionize._interval(gap) }}) as sessionize_sessions
    from {{ from_item }}
    group by {{ user }}
) as g
cross join lateral pg_catalog.unnest(g.sessionize_sessions) as s
{%- endmacro %}
