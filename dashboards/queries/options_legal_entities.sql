-- Filter options: legal entities.
select distinct 'legal_entity' as filter_name, legal_entity as value
from marts.dim_legal_entities
where legal_entity is not null
