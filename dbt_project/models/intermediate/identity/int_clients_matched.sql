-- Which Salesforce account a client reference of another system is (docs/design.md §3 identity):
-- ERP customers (explicit key: customer_external_id; mapping: ('erp', 'customer', entity id))
-- and Concur allocation clients (explicit key: the code is an account Id; mapping:
-- ('concur', 'client', legacy code)). Unmatched references keep a null account and become
-- `unmatched_client` exceptions of the records carrying them.

with

accounts as (

    select account_source_id from {{ ref('stg_salesforce__accounts') }}

),

mappings as (

    select
        source_system,
        entity,
        source_id,
        target_id
    from {{ ref('stg_mdm__identity_mappings') }}
    where target_system = 'salesforce' and entity in ('customer', 'client')

),

erp_customers as (

    select
        'erp' as source_system,
        'customer' as entity,
        customer_source_id as client_ref,
        max(account_ref) as explicit_ref
    from {{ ref('stg_erp__invoices') }}
    group by customer_source_id

),

concur_clients as (

    select distinct
        'concur' as source_system,
        'client' as entity,
        client_ref,
        client_ref as explicit_ref
    from {{ ref('stg_concur__expenses') }}
    where client_ref is not null

),

references_ as (

    select * from erp_customers
    union all
    select * from concur_clients

),

matched as (

    select
        references_.source_system,
        references_.entity,
        references_.client_ref,
        coalesce(explicit_account.account_source_id, mappings.target_id) as account_source_id,
        case
            when explicit_account.account_source_id is not null then 'explicit_key'
            when mappings.target_id is not null then 'identity_mapping'
        end as match_method
    from references_
    left join accounts as explicit_account
        on references_.explicit_ref = explicit_account.account_source_id
    left join mappings
        on
            references_.source_system = mappings.source_system
            and references_.entity = mappings.entity
            and references_.client_ref = mappings.source_id

)

select * from matched
