-- an ephemeral model: sessions() reads it through the grouping aggregate
{{ config(materialized='ephemeral') }}
select user_id, event_ts, url from {{ ref('events') }}
