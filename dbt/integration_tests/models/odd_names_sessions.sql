-- column names that only work quoted
select * from ({{ sessionize.sessions(ref('odd_names'), 'Visitor Id', "Seen at's", '30 minutes') }}) s
