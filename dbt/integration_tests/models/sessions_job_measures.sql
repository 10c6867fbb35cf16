-- a job whose sessions carry measures (var job_measures changes them:
-- test/t/030_dbt.pl alters them between runs, and removes them with '')
{{ config(materialized='sessionize_job',
          meta={'sessionize': {'user_column': 'user_id', 'time_column': 'event_ts', 'gap': '30 minutes',
                               'measures': var('job_measures',
                                   "count(*) FILTER (WHERE url = '/checkout') AS checkouts, first(url) AS landing_page, "
                                   ~ "last(url) AS exit_page, count(DISTINCT url) AS pages")}}) }}
select * from {{ ref('events') }}
