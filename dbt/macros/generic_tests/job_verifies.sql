{#-
    Generic test: a model kept by a sessionize job (materialized
    'sessionize_job') passes sessionize.verify(): the job's target equals a
    recomputation of its source's sessions, closed flags included.  Fails
    with the rows verify() returns, or one row when no job keeps the model.

        models:
          - name: sessions
            data_tests:
              - sessionize.job_verifies
-#}
{% test job_verifies(model) -%}
    {{ return(adapter.dispatch('test_job_verifies', 'sessionize')(model)) }}
{%- endtest %}

{% macro default__test_job_verifies(model) -%}
    {{ exceptions.raise_compiler_error("sessionize: job_verifies needs dbt-postgres, not adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro postgres__test_job_verifies(model) -%}
with sessionize_job as (
    select j.job_id from sessionize.jobs j where j.target = {{ sessionize._to_regclass(model) }}
)
select v.difference, v.user_key, v.session_start, v.last_event_at, v.session_end, v.event_count, v.closed
from sessionize_job j
cross join lateral sessionize.verify(j.job_id) v
union all
select 'no sessionize job keeps this model', null, null, null, null, null, null
where not exists (select 1 from sessionize_job)
{%- endmacro %}
