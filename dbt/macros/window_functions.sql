{#-
    session_id(time_column, gap) and session_start(time_column, gap): the
    call of sessionize's window functions, to be followed in the model by
    its window, ordered by the same time column:

        select user_id, event_ts,
               {{ sessionize.session_id('event_ts', '30 minutes') }} over w as session_id,
               {{ sessionize.session_start('event_ts', '30 minutes') }} over w as session_start
        from {{ ref('events') }}
        window w as (partition by user_id order by event_ts)

    time_column is a column name (quoted here, so "order by event_ts"
    matches it); relation_alias qualifies it when the model joins
    (relation_alias='e' renders "e"."event_ts").  gap is an interval
    ('30 minutes'), or an integer for bigint epoch times.  max_duration
    (optional, of the gap's kind) is the extended rule of the README: an
    event that would make a session longer starts a new one.
-#}
{% macro session_id(time_column, gap, max_duration=none, relation_alias=none) -%}
    {{ return(adapter.dispatch('session_id', 'sessionize')(time_column, gap, max_duration, relation_alias)) }}
{%- endmacro %}

{% macro session_start(time_column, gap, max_duration=none, relation_alias=none) -%}
    {{ return(adapter.dispatch('session_start', 'sessionize')(time_column, gap, max_duration, relation_alias)) }}
{%- endmacro %}

{% macro default__session_id(time_column, gap, max_duration, relation_alias) -%}
    {{ exceptions.raise_compiler_error("sessionize: session_id() needs dbt-postgres and the sessionize PostgreSQL extension, not adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro default__session_start(time_column, gap, max_duration, relation_alias) -%}
    {{ exceptions.raise_compiler_error("sessionize: session_start() needs dbt-postgres and the sessionize PostgreSQL extension, not adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro postgres__session_id(time_column, gap, max_duration, relation_alias) -%}
    {{ sessionize._window_call('session_id', time_column, gap, max_duration, relation_alias) }}
{%- endmacro %}

{% macro postgres__session_start(time_column, gap, max_duration, relation_alias) -%}
    {{ sessionize._window_call('session_start', time_column, gap, max_duration, relation_alias) }}
{%- endmacro %}

{% macro _window_call(function, time_column, gap, max_duration, relation_alias) -%}
    {%- if (gap is number) != (max_duration is number) and max_duration is not none -%}
        {{ exceptions.raise_compiler_error("sessionize: gap and max_duration must both be intervals or both integers") }}
    {%- endif -%}
    sessionize.{{ function }}(
        {%- if relation_alias is not none -%}{{ sessionize._ident(relation_alias, 'relation_alias') }}.{%- endif -%}
        {{ sessionize._ident(time_column) }}, {{ sessionize._gap(gap) }}
        {%- if max_duration is not none -%}, {{ sessionize._gap(max_duration, 'max_duration') }}{%- endif -%}
    )
{%- endmacro %}
