{#-
    Internal helpers of the sessionize package: quoting, and what the
    catalog says about a relation.  Every name the package puts into SQL
    goes through _ident() and every value through _literal(); relations
    are rendered by dbt's relation objects or quoted here part by part.
-#}

{#- A quoted SQL identifier: "name", with embedded double quotes doubled.
    Column names are taken as they are in the catalog (case included), not
    as SQL expressions. -#}
{% macro _ident(name, what='column name') -%}
    {%- if name is not string or name == '' -%}
        {{ exceptions.raise_compiler_error("sessionize: " ~ what ~ " must be a non-empty string, got " ~ (name | string)) }}
    {%- endif -%}
    "{{ name | replace('"', '""') }}"
{%- endmacro %}

{#- A SQL string literal of value (as text), safe whatever
    standard_conforming_strings is: quotes doubled and, if there is a
    backslash, an E'' literal with backslashes doubled (as PostgreSQL's
    quote_literal() makes them). -#}
{% macro _literal(value) -%}
    {%- set s = value | string -%}
    {%- if '\\' in s -%}
        E'{{ s | replace('\\', '\\\\') | replace("'", "''") }}'
    {%- else -%}
        '{{ s | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}

{#- An interval literal, for a gap such as '30 minutes'. -#}
{% macro _interval(value, what='gap') -%}
    {%- if value is none or (value | string) == '' -%}
        {{ exceptions.raise_compiler_error("sessionize: " ~ what ~ " is required (an interval such as '30 minutes')") }}
    {%- endif -%}
    cast({{ sessionize._literal(value) }} as interval)
{%- endmacro %}

{#- A gap for the window functions and the jobs: an interval literal, or a
    bigint for bigint epoch times (a Jinja integer, in the unit of the
    times).  A boolean is neither. -#}
{% macro _gap(value, what='gap') -%}
    {%- if value is sameas true or value is sameas false -%}
        {{ exceptions.raise_compiler_error("sessionize: " ~ what ~ " must be an interval such as '30 minutes' or, for bigint times, an integer, got " ~ value) }}
    {%- elif value is number -%}
        {%- if value != (value | int) -%}
            {{ exceptions.raise_compiler_error("sessionize: a numeric " ~ what ~ " must be an integer (for bigint times), got " ~ value) }}
        {%- endif -%}
        cast({{ value | int }} as bigint)
    {%- else -%}
        {{ sessionize._interval(value, what) }}
    {%- endif -%}
{%- endmacro %}

{#- Whether obj is a dbt relation object (what ref() and source() return). -#}
{% macro _is_relation(obj) -%}
    {{ return(obj is mapping and (obj.get('metadata', {}).get('type', '') | string).endswith('Relation')) }}
{%- endmacro %}

{#- "schema"."name" of a relation, quoted part by part. -#}
{% macro _qualified(relation) -%}
    {%- if relation.schema -%}{{ sessionize._ident(relation.schema, 'schema name') }}.{%- endif -%}
    {{ sessionize._ident(relation.identifier, 'relation name') }}
{%- endmacro %}

{#- What a FROM clause names: a relation that dbt renders as a plain name
    (a table, view, source) quoted part by part; an ephemeral model, or a
    relation dbt renders as a subquery (--empty, --sample, microbatch), as
    dbt renders it; a string, the name of a CTE, quoted. -#}
{% macro _from_item(relation, what='relation (a ref(), a source() or the name of a CTE)') -%}
    {%- if not sessionize._is_relation(relation) -%}
        {{ sessionize._ident(relation, what) }}
    {%- elif relation.is_cte or relation.limit is not none or relation.event_time_filter is not none
             or not relation.identifier -%}
        {{ relation }}
    {%- else -%}
        {{ sessionize._qualified(relation) }}
    {%- endif -%}
{%- endmacro %}

{#- A regclass constant naming relation (resolved when the statement is
    parsed, so that a view made of it depends on the relation). -#}
{% macro _regclass(relation) -%}
    {{ sessionize._literal(sessionize._qualified(relation)) }}::regclass
{%- endmacro %}

{#- The relation named by relation, or NULL if there is none (to_regclass:
    no error for a relation that does not exist). -#}
{% macro _to_regclass(relation) -%}
    pg_catalog.to_regclass({{ sessionize._literal(sessionize._qualified(relation)) }})
{%- endmacro %}

{#- The first row of a query, as a dict, or none (also at parse time, when
    no query runs). -#}
{% macro _first_row(query) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set result = run_query(query) -%}
    {%- if result is none or (result.rows | length) == 0 -%}{{ return(none) }}{%- endif -%}
    {%- set row = {} -%}
    {%- for name in result.column_names -%}
        {%- do row.update({name: result.rows[0][name]}) -%}
    {%- endfor -%}
    {{ return(row) }}
{%- endmacro %}

{#- Fails with a clear message unless the sessionize extension is installed
    in the database dbt connects to. -#}
{% macro _require_extension() -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set row = sessionize._first_row("select extversion from pg_catalog.pg_extension where extname = 'sessionize'") -%}
    {%- if row is none -%}
        {{ exceptions.raise_compiler_error("sessionize: the sessionize extension is not installed in this database; run CREATE EXTENSION sessionize first") }}
    {%- endif -%}
{%- endmacro %}

{#- The job that keeps relation (its target), as a dict of the jobs
    catalog's columns, or none.  gap and allowed_lateness are of the kind
    _gap() takes: text (an interval) for timestamp times, an integer for
    bigint times. -#}
{% macro _job_of(relation) -%}
    {%- set query -%}
        select j.job_id, j.user_column, j.time_column, j.target_user_column,
               pg_catalog.format_type(j.time_type, null) as time_type,
               j.gap::text as gap, j.allowed_lateness::text as allowed_lateness,
               j.integer_gap, j.integer_allowed_lateness,
               n.nspname as source_schema, c.relname as source_name
        from sessionize.jobs j
        join pg_catalog.pg_class c on c.oid = j.source
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where j.target = {{ sessionize._to_regclass(relation) }}
    {%- endset -%}
    {%- set job = sessionize._first_row(query) -%}
    {%- if job is not none and job['integer_gap'] is not none -%}
        {%- do job.update({'gap': job['integer_gap'] | int,
                           'allowed_lateness': job['integer_allowed_lateness'] | int}) -%}
    {%- endif -%}
    {{ return(job) }}
{%- endmacro %}
