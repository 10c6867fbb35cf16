-- each event with its session, from the window functions
select user_id, event_ts, url,
       {{ sessionize.session_id('event_ts', '30 minutes') }} over w as session_id,
       {{ sessionize.session_start('event_ts', '30 minutes') }} over w as session_start
from {{ ref('events') }}
window w as (partition by user_id order by event_ts)
