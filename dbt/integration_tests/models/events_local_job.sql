-- a job on timestamp without time zone times
{{ config(materialized='sessionize_job',
          meta={'sessionize': {'user_column': 'user_id', 'time_column': 'event_time', 'gap': '30 minutes'}}) }}
select * from {{ ref('events_local') }}
