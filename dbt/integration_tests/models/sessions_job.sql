-- sessions kept exact across runs by a sessionize job: the first run
-- creates the job, later runs apply new, late, updated and deleted events
{{ config(materialized='sessionize_job',
          meta={'sessionize': {'user_column': 'user_id', 'time_column': 'event_ts',
                               'gap': var('sessions_job_gap', '30 minutes'), 'allowed_lateness': '1 hour'}}) }}
select * from {{ ref('events') }}
