-- Who a PSA person is in HR (docs/design.md §3 identity): the explicit key first (the PSA e-mail
-- equals the HR e-mail, case-insensitive), then the MDM identity mapping
-- (source_system, 'user', source id) -> HR employee id. Unmatched people keep a null
-- employee_id; their records become `unmatched_worker` exceptions. An e-mail two HR workers
-- share names neither (the firm's data can hold that; stg_hris__workers warns).

with

workers as (

    select
        employee_id,
        email_normalized
    from {{ ref('stg_hris__workers') }}

),

-- the e-mails that name one worker: only those are an explicit key
unique_emails as (

    select email_normalized
    from workers
    group by email_normalized
    having count(*) = 1

),

workers_by_email as (

    select
        workers.employee_id,
        workers.email_normalized
    from workers
    inner join unique_emails
        on workers.email_normalized = unique_emails.email_normalized

),

mappings as (

    select
        source_system,
        source_id,
        target_id
    from {{ ref('stg_mdm__identity_mappings') }}
    where entity = 'user' and target_system = 'hris'

),

-- the people time entries name, of every PSA (var psa_sources)
people as (

    {{ union_psa_staging('people', ['person_source_id', 'email_normalized']) }}

),

matched as (

    select
        people.source_system,
        people.person_source_id,
        people.email_normalized,
        coalesce(by_email.employee_id, by_mapping.employee_id) as employee_id,
        case
            when by_email.employee_id is not null then 'email'
            when by_mapping.employee_id is not null then 'identity_mapping'
        end as match_method
    from people
    left join workers_by_email as by_email
        on people.email_normalized = by_email.email_normalized
    left join mappings
        on
            people.source_system = mappings.source_system
            and people.person_source_id = mappings.source_id
    left join workers as by_mapping
        on mappings.target_id = by_mapping.employee_id

)

select * from matched
