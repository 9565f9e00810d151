-- Filter options: clients by name.
select distinct 'client' as filter_name, client_name as value
from marts.dim_clients
where client_name is not null
