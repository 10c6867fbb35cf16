-- a view with timestamp (without time zone) times: sessions() reads it with
-- sessionize(), whose column definition list comes from the catalog
{{ config(materialized='view') }}
select user_id, (event_ts at time zone 'UTC') as event_time from {{ ref('events') }}
