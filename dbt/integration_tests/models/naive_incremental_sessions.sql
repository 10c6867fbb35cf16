-- A counterexample, kept to show what the README warns about: the usual
-- incremental filter (only events newer than the newest one seen) loses late
-- events and cannot merge a session with the events that extend or bridge
-- it.  test/t/030_dbt.pl checks that it goes wrong.  Do not copy it.
{{ config(materialized='incremental', unique_key=['user_id', 'session_start'], tags=['counterexample']) }}
with new_events as (
    select user_id, event_ts from {{ ref('events') }}
    where event_ts is not null
    {% if is_incremental() %}
      and event_ts > (select max(last_event_at) from {{ this }})
    {% endif %}
),
flagged as (
    select user_id, event_ts,
           case when lag(event_ts) over w is null or event_ts - lag(event_ts) over w > interval '30 minutes'
                then 1 else 0 end as is_new
    from new_events
    window w as (partition by user_id order by event_ts)
),
numbered as (
    select user_id, event_ts, sum(is_new) over (partition by user_id order by event_ts rows unbounded preceding) as n
    from flagged
)
select user_id, min(event_ts) as session_start, max(event_ts) as last_event_at,
       max(event_ts) + interval '30 minutes' as session_end, count(*) as event_count
from numbered
group by user_id, n
