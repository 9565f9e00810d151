select
    run_id,
    job_name,
    run_status,
    started_at,
    ended_at,
    duration_seconds
from marts.pipeline_health_runs
order by started_at desc nulls last
limit 200
