-- sessions rolled up from the window functions' per-event columns: a
-- session_id or session_start out of step with the other gives extra rows
select user_id, session_start, max(event_ts) as last_event_at,
       max(event_ts) + interval '30 minutes' as session_end, count(*) as event_count
from {{ ref('events_sessionized') }}
where event_ts is not null
group by user_id, session_id, session_start
