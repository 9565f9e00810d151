-- Files rejected whole at load, newest first: which file, why, and the loader's detail.
select
    system as source_system,
    entity as source_entity,
    source_file,
    reason,
    detail,
    rejected_at
from quarantine.rejected_files
order by rejected_at desc, source_file
limit 500
