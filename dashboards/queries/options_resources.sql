-- Filter options from the people dimension: regions and practices.
select 'region' as filter_name, region as value
from marts.dim_resources
where region is not null
union
select 'practice' as filter_name, practice as value
from marts.dim_resources
where practice is not null
