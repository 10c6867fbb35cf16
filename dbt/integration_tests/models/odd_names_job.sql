{{ config(materialized='sessionize_job',
          meta={'sessionize': {'user_column': 'Visitor Id', 'time_column': "Seen at's", 'gap': '30 minutes'}}) }}
select * from {{ ref('odd_names') }}
