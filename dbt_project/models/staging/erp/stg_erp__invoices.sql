with

source as (

    select * from {{ source('erp', 'invoices') }}

),

renamed as (

    select
        -- ids
        cast(internal_id as {{ type_text() }}) as invoice_source_id,
        tranid as invoice_number,
        entity_id as customer_source_id,
        entity_name as customer_name,
        nullif(trim(customer_external_id), '') as account_ref,
        nullif(trim(custbody_sf_contract_id), '') as contract_ref,
        nullif(trim(custbody_psa_project_code), '') as project_code,

        -- attributes
        subsidiary as legal_entity,
        currency,
        exchange_rate as base_per_unit,
        trandate as invoice_date,
        posting_period,
        approval_status,
        status,
        released_date,
        due_date,
        terms as payment_terms,
        paid_date,
        memo,

        -- money (invoice currency)
        subtotal,
        tax_total,
        total,
        amount_paid,
        amount_remaining,

        -- audit
        created_date as created_at,
        last_modified_date as updated_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _load_id as load_id

    from source

)

-- invoices created by the as-of date (release and payment are dated in the marts)
select * from renamed
where {{ known_at_as_of('created_at') }}
