select
    source_system,
    source_entity,
    last_file,
    last_loaded_at,
    round(hours_since_last_load, 1) as hours_since_last_load,
    files_loaded,
    files_rejected,
    files_duplicate,
    rows_loaded,
    rows_rejected,
    file_reject_reasons
from marts.pipeline_health_sources
order by source_system, source_entity
