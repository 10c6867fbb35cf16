-- a job on bigint epoch-millisecond times: the gap and lateness are
-- integers in that unit (30 minutes, 1 hour), with measures
{{ config(materialized='sessionize_job',
          meta={'sessionize': {'user_column': 'visitor', 'time_column': 'at_ms',
                               'gap': 1800000, 'allowed_lateness': 3600000,
                               'measures': 'sum(amount) AS revenue, first(page) AS landing_page, last(page) AS exit_page'}}) }}
select * from {{ ref('clicks_ms') }}
