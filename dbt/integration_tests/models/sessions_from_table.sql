-- sessions of a table: one pass of sessionize()
select * from ({{ sessionize.sessions(ref('events'), 'user_id', 'event_ts', '30 minutes') }}) s
