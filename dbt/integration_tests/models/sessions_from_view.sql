select * from ({{ sessionize.sessions(ref('events_view'), 'user_id', 'event_time', '30 minutes') }}) s
