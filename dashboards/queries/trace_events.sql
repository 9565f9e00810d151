-- The lifecycle of one record (marts.fct_lifecycle_events): every state change from source
-- submission to ERP posting and payment, in time order. Looked up by the record's kind and
-- source id as well as its correlation id (a hash of them): the source id lets the scan of
-- this large table skip most of it.
select
    event_at,
    event_type,
    event_source,
    record_kind,
    source_system,
    source_id
from marts.fct_lifecycle_events
where
    record_kind = $record_kind
    and source_id = $source_id
    and correlation_id = $correlation_id
order by
    event_at,
    case event_type
        when 'submitted' then 0 when 'rejected' then 1 when 'approved' then 2
        when 'validated' then 3 when 'batched' then 4 when 'invoiced' then 5
        when 'posted' then 6 else 7
    end
