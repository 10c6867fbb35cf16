select * from ({{ sessionize.sessions(ref('events_ephemeral'), 'user_id', 'event_ts', '30 minutes') }}) s
