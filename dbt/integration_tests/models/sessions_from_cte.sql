-- sessions of a CTE of the model, named by a string
with clicks as (
    select user_id, event_ts from {{ ref('events') }} where url is not null
)
select * from ({{ sessionize.sessions('clicks', 'user_id', 'event_ts', '30 minutes') }}) s
