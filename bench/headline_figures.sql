-- =============================================================================================
-- Deliver-to-Bill: the headline figures, straight from the landing files
-- =============================================================================================
--
-- A hand-written reference for the benchmark (issue 10): the funnel of hours, unbilled WIP per
-- project and the lags of docs/design.md §4, computed by one DuckDB script from the landing zone
-- (docs/sources.md), with no ingest, no dbt and no orchestration. The pipeline must give the
-- same figures; the generator's ground truth (docs/generator.md, "Ground truth") defines them.
--
-- Parameters (set them before running the script; `bench/reference.py` does):
--
--     SET VARIABLE landing = '/path/to/landing';      -- the landing root (docs/design.md §2)
--     SET VARIABLE as_of = DATE '2025-06-30';         -- as-of date d: events up to 23:59:59 UTC
--     -- optional SLAs in business days (docs/design.md §4 defaults):
--     SET VARIABLE sla_time_approval = 2;
--     SET VARIABLE sla_expense_posting = 10;
--     SET VARIABLE sla_invoice_release = 5;
--
-- Result tables (everything else is a TEMP helper):
--
--     skipped_files            landed files not read, with the reason
--     time_entry_exceptions    one row per (time entry, reason): the record-level rules
--     funnel_hours             delivered/approved/billable/invoiced/paid hours per project×month
--     unbilled_wip             unbilled approved billable hours and value per project, aged
--     expense_posting_lags     ERP posting lag per Concur expense line
--     invoice_release_delays   release delay per released ERP invoice
--     lag_summary              median, p90 and SLA breaches of the three lags
--
-- Conventions: hours and money are DECIMAL (never floats); timestamps are UTC `TIMESTAMP`s (the
-- files carry `Z` times); dates compare as DATE. Every CSV is read as text and cast here, so
-- each type decision is visible in this file.
-- =============================================================================================

-- No result depends on the order files or rows are read in, so DuckDB need not keep it (less
-- memory). Result tables have no inherent order either: query them with ORDER BY.
SET preserve_insertion_order = false;

SELECT CASE
    WHEN getvariable('landing') IS NULL OR getvariable('as_of') IS NULL
        THEN error('set the variables first: SET VARIABLE landing = ''...''; '
                   || 'SET VARIABLE as_of = DATE ''YYYY-MM-DD'';')
END AS parameters_ok;


-- ---------------------------------------------------------------------------------------------
-- 0. Helpers
-- ---------------------------------------------------------------------------------------------

-- A glob under the landing root, e.g. landing_glob('harvest/time_entries/*.json').
CREATE OR REPLACE TEMP MACRO landing_glob(relative) AS getvariable('landing') || '/' || relative;

CREATE OR REPLACE TEMP MACRO as_of_date() AS CAST(getvariable('as_of') AS DATE);

-- First instant after the as-of day: an event "happened by d" when it is before this.
CREATE OR REPLACE TEMP MACRO as_of_end() AS CAST(as_of_date() + 1 AS TIMESTAMP);

-- Snapshot files are named with their as-of date (`projects_2025-06-30_page_0001.json`,
-- `workers_2025-06-30.csv`); the newest snapshot not after d is the current state.
CREATE OR REPLACE TEMP MACRO snapshot_date(path) AS
    TRY_CAST(regexp_extract(parse_filename(path), '(\d{4}-\d{2}-\d{2})', 1) AS DATE);

-- The SLA clock of docs/design.md §4 as the truth defines it: Mon–Fri days in (start, finish], no
-- holidays. Closed form: weekdays_through(x) counts the Mon–Fri days from Monday 1900-01-01
-- through x: 5 per whole week, plus the leftover days of the last week, at most 5 of them.
CREATE OR REPLACE TEMP MACRO weekdays_through(x) AS
    ((x - DATE '1900-01-01') + 1) // 7 * 5 + least(((x - DATE '1900-01-01') + 1) % 7, 5);
CREATE OR REPLACE TEMP MACRO business_days(start_date, finish_date) AS
    weekdays_through(finish_date) - weekdays_through(start_date);

-- A SLA in business days: the variable when set, else the docs/design.md §4 default.
CREATE OR REPLACE TEMP MACRO sla(name, default_days) AS
    coalesce(TRY_CAST(getvariable(name) AS INTEGER), default_days);

-- Every CSV of a folder, all fields as text (casts happen below, where the meaning is known).
-- union_by_name: one monthly ERP export carries an extra trailing column (schema drift); it
-- is simply not selected.
CREATE OR REPLACE TEMP MACRO csv_files(relative_glob) AS TABLE
    SELECT *
    FROM read_csv(
        landing_glob(relative_glob),
        header = true, delim = ',', quote = '"', escape = '"',
        all_varchar = true, union_by_name = true, filename = true
    );

-- The pages of the newest snapshot of a Harvest master-data entity that parse as JSON.
CREATE OR REPLACE TEMP MACRO harvest_snapshot_pages(entity) AS TABLE
    SELECT filename, content
    FROM read_text(landing_glob('harvest/' || entity || '/*.json'))
    WHERE json_valid(content) AND snapshot_date(filename) <= as_of_date()
    QUALIFY snapshot_date(filename) = max(snapshot_date(filename)) OVER ();


-- ---------------------------------------------------------------------------------------------
-- 1. Concur SAE files: which are read (Harvest pages are checked where they are parsed, §3)
-- ---------------------------------------------------------------------------------------------

-- Concur SAE files. A weekly batch re-delivered under another name has the same bytes: only
-- the first file (by name) of each content hash is read. A file whose DETAIL count or
-- Journal Amount total differs from its EXTRACT row is rejected whole (docs/sources.md).
CREATE OR REPLACE TEMP TABLE sae_files AS
WITH landed AS (
    SELECT filename, content, md5(content) AS content_md5
    FROM read_text(landing_glob('concur/expenses/*.txt'))
),
numbered AS (
    SELECT *, row_number() OVER (PARTITION BY content_md5 ORDER BY filename) AS copy_number
    FROM landed
),
lines AS (
    SELECT filename, string_split(line, '|') AS fields
    FROM (SELECT filename, unnest(string_split(content, chr(10))) AS line FROM numbered)
    WHERE line <> ''
),
control_totals AS (
    SELECT
        filename,
        max(CASE WHEN fields[1] = 'EXTRACT' THEN TRY_CAST(fields[3] AS INTEGER) END)
            AS declared_count,
        max(CASE WHEN fields[1] = 'EXTRACT' THEN TRY_CAST(fields[4] AS DECIMAL(18,2)) END)
            AS declared_total,
        count(*) FILTER (WHERE fields[1] = 'DETAIL') AS detail_count,
        coalesce(sum(CAST(fields[169] AS DECIMAL(18,2))) FILTER (WHERE fields[1] = 'DETAIL'), 0)
            AS detail_total
    FROM lines
    GROUP BY filename
)
SELECT
    n.filename,
    n.content,
    CASE
        WHEN n.copy_number > 1 THEN 'duplicate'
        WHEN t.declared_count IS NULL THEN 'unexpected_structure'
        WHEN t.declared_count <> t.detail_count OR t.declared_total <> t.detail_total
            THEN 'control_total_mismatch'
    END AS skip_reason
FROM numbered AS n
LEFT JOIN control_totals AS t USING (filename);

-- ---------------------------------------------------------------------------------------------
-- 2. Master data: the current state (newest snapshot) of what the rules look up
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE TEMP TABLE hr_workers AS
SELECT employee_id, lower(email) AS email, role
FROM csv_files('hris/workers/*.csv')
WHERE snapshot_date(filename) <= as_of_date()
QUALIFY snapshot_date(filename) = max(snapshot_date(filename)) OVER ();

-- The MDM team's maintained mapping: one file, no date in its name, always current.
CREATE OR REPLACE TEMP TABLE identity_mappings AS
SELECT source_system, entity, source_id, target_id
FROM csv_files('mdm/identity_mappings/*.csv');

CREATE OR REPLACE TEMP TABLE contracts AS
SELECT
    "Id" AS contract_id,
    "AccountId" AS account_id,
    "PSA_Project_Code__c" AS project_code,
    "CurrencyIsoCode" AS currency,
    CAST("EndDate" AS DATE) AS end_date
FROM csv_files('salesforce/contracts/*.csv')
WHERE snapshot_date(filename) <= as_of_date()
QUALIFY snapshot_date(filename) = max(snapshot_date(filename)) OVER ();

CREATE OR REPLACE TEMP TABLE accounts AS
SELECT "Id" AS account_id, "Name" AS account_name
FROM csv_files('salesforce/accounts/*.csv')
WHERE snapshot_date(filename) <= as_of_date()
QUALIFY snapshot_date(filename) = max(snapshot_date(filename)) OVER ();

CREATE OR REPLACE TEMP TABLE rate_card_lines AS
SELECT
    "Contract__c" AS contract_id,
    "Role__c" AS role,
    CAST("Bill_Rate__c" AS DECIMAL(12,2)) AS bill_rate,
    CAST("Effective_From__c" AS DATE) AS effective_from,
    -- empty = open-ended; the end is inclusive
    coalesce(CAST(nullif("Effective_To__c", '') AS DATE), DATE '9999-12-31') AS effective_to
FROM csv_files('salesforce/rate_cards/*.csv')
WHERE snapshot_date(filename) <= as_of_date()
QUALIFY snapshot_date(filename) = max(snapshot_date(filename)) OVER ();

CREATE OR REPLACE TEMP TABLE harvest_users AS
SELECT u.id AS user_id, lower(u.email) AS email
FROM (
    SELECT unnest(from_json(content, '{"users": [{"id": "BIGINT", "email": "VARCHAR"}]}').users)
        AS u
    FROM harvest_snapshot_pages('users')
);

CREATE OR REPLACE TEMP TABLE harvest_user_assignments AS
SELECT DISTINCT a.project.id AS project_id, a.user.id AS user_id
FROM (
    SELECT unnest(from_json(content, '{"user_assignments": [
        {"project": {"id": "BIGINT"}, "user": {"id": "BIGINT"}}]}').user_assignments) AS a
    FROM harvest_snapshot_pages('user_assignments')
);

CREATE OR REPLACE TEMP TABLE harvest_task_assignments AS
SELECT DISTINCT a.project.id AS project_id, a.task.id AS task_id
FROM (
    SELECT unnest(from_json(content, '{"task_assignments": [
        {"project": {"id": "BIGINT"}, "task": {"id": "BIGINT"}}]}').task_assignments) AS a
    FROM harvest_snapshot_pages('task_assignments')
);

-- PSA projects of both PSAs in one shape. A time entry points at its project by
-- `project_key`: the Harvest project id, or the Toggl project name (Toggl's CSV has no id).
-- The contract is the one whose PSA_Project_Code__c is the project code; a project set up
-- without a code reaches its contract through the identity mapping. `client_name` (the
-- contract's Salesforce account) tells apart Toggl projects that share a name, see
-- time_entries_enriched.
CREATE OR REPLACE TEMP TABLE psa_projects AS
WITH harvest_projects AS (
    SELECT
        'harvest' AS source,
        CAST(p.id AS VARCHAR) AS project_key,
        CAST(p.id AS VARCHAR) AS project_id,
        p.code,
        p.is_active,
        p.ends_on AS end_date,
        p.hourly_rate AS default_rate
    FROM (
        SELECT unnest(from_json(content, '{"projects": [{
            "id": "BIGINT", "code": "VARCHAR", "is_active": "BOOLEAN", "ends_on": "DATE",
            "hourly_rate": "DECIMAL(12,2)"}]}').projects) AS p
        FROM harvest_snapshot_pages('projects')
    )
),
toggl_projects AS (
    SELECT
        'toggl' AS source,
        p.name AS project_key,
        CAST(p.id AS VARCHAR) AS project_id,
        -- the first token of the name when it looks like a code (P-…, INT-…)
        CASE WHEN regexp_matches(split_part(p.name, ' ', 1), '^(P|INT)-')
            THEN split_part(p.name, ' ', 1) END AS code,
        p.active AS is_active,
        p.end_date,
        p.rate AS default_rate
    FROM (
        SELECT unnest(from_json(content, '[{
            "id": "BIGINT", "name": "VARCHAR", "active": "BOOLEAN", "end_date": "DATE",
            "rate": "DECIMAL(12,2)"}]')) AS p
        FROM read_text(landing_glob('toggl/projects/*.json'))
        WHERE json_valid(content) AND snapshot_date(filename) <= as_of_date()
        QUALIFY snapshot_date(filename) = max(snapshot_date(filename)) OVER ()
    )
),
both_psas AS (
    SELECT * FROM harvest_projects
    UNION ALL
    SELECT * FROM toggl_projects
),
with_contract AS (
    SELECT p.*, coalesce(by_code.contract_id, by_mapping.target_id) AS contract_id
    FROM both_psas AS p
    LEFT JOIN contracts AS by_code
        ON by_code.project_code = p.code
    LEFT JOIN identity_mappings AS by_mapping
        ON p.code IS NULL
        AND by_mapping.source_system = p.source
        AND by_mapping.entity = 'project'
        AND by_mapping.source_id = p.project_id
)
SELECT
    p.*,
    a.account_name AS client_name,
    count(*) OVER (PARTITION BY p.source, p.project_key) = 1 AS key_is_unique
FROM with_contract AS p
LEFT JOIN contracts AS c USING (contract_id)
LEFT JOIN accounts AS a USING (account_id);


-- ---------------------------------------------------------------------------------------------
-- 3. Time entries: every exported version of both PSAs, then the latest version per entry
-- ---------------------------------------------------------------------------------------------

-- Both PSAs in one shape. The keys that identify "the same work" for duplicate detection are
-- each PSA's own: Harvest user/project/task ids; Toggl Email, Project and Task names (API
-- rows: user id, and the project and task names of `meta=true`).
--
-- Harvest pages: a page that is not valid JSON (an interrupted delivery, re-delivered complete
-- later) is rejected whole; decided by its content, not by its name. Each page is parsed once,
-- keeping only the fields the figures need; a rejected page leaves a single row without an
-- entry that names it (`unparseable_file`), for skipped_files.
CREATE OR REPLACE TEMP TABLE time_entry_versions AS
WITH harvest_pages AS (
    SELECT
        filename,
        -- try(): JSON that does not parse gives NULL instead of failing the script (the
        -- documented structure below never fails on JSON that parses); one parse per page
        try(from_json(content, '{"time_entries": [{
            "id": "BIGINT", "spent_date": "DATE", "hours": "DECIMAL(9,2)", "notes": "VARCHAR",
            "billable": "BOOLEAN", "billable_rate": "DECIMAL(12,2)",
            "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP", "approval_status": "VARCHAR",
            "submitted_at": "TIMESTAMP", "approved_at": "TIMESTAMP",
            "user": {"id": "BIGINT"}, "project": {"id": "BIGINT", "code": "VARCHAR"},
            "task": {"id": "BIGINT"}
        }]}')) AS page
    FROM read_text(landing_glob('harvest/time_entries/*.json'))
),
harvest_versions AS (
    SELECT
        CASE WHEN page IS NULL THEN filename END AS unparseable_file,
        unnest(CASE WHEN page IS NOT NULL THEN page.time_entries ELSE [NULL] END) AS t
    FROM harvest_pages
),
toggl_versions AS (
    SELECT
        *,
        -- Duration is HH:MM:SS; hours = seconds / 3600 (quarter hours: exact in 2 places)
        CAST(split_part("Duration", ':', 1) AS INTEGER) * 3600
            + CAST(split_part("Duration", ':', 2) AS INTEGER) * 60
            + CAST(split_part("Duration", ':', 3) AS INTEGER) AS duration_seconds
    FROM csv_files('toggl/time_entries/*.csv')
),
-- Toggl API v9 time entries (`meta=true`): a top-level array per file; times are UTC, the
-- work date is the start's date in the workspace's zone (Europe/Amsterdam); no approval data
toggl_api_versions AS (
    SELECT unnest(from_json(content, '[{
        "id": "BIGINT", "user_id": "BIGINT", "project_name": "VARCHAR", "task_name": "VARCHAR",
        "client_name": "VARCHAR", "start": "VARCHAR", "duration": "BIGINT",
        "description": "VARCHAR", "billable": "BOOLEAN", "at": "TIMESTAMP"
    }]')) AS t
    FROM read_text(landing_glob('toggl/time_entries/*.json'))
)
SELECT
    'harvest' AS source,
    t.id AS entry_id,
    CAST(t.user.id AS VARCHAR) AS user_key,
    CAST(t.project.id AS VARCHAR) AS project_key,
    t.project.code AS code_on_entry,
    CAST(t.task.id AS VARCHAR) AS task_key,
    t.spent_date,
    t.hours,
    t.notes,
    t.billable,
    t.billable_rate AS psa_rate,
    t.created_at,
    t.updated_at,
    t.approval_status,
    t.submitted_at,
    t.approved_at,
    NULL AS client_name,     -- not needed: a Harvest entry points at its project by id
    unparseable_file
FROM harvest_versions
UNION ALL
SELECT
    'toggl',
    CAST("Time entry ID" AS BIGINT),
    "Email",
    "Project",
    CASE WHEN regexp_matches(split_part("Project", ' ', 1), '^(P|INT)-')
        THEN split_part("Project", ' ', 1) END,
    "Task",
    CAST("Start date" AS DATE),
    CAST(duration_seconds / 3600 AS DECIMAL(9,2)),
    "Description",
    "Billable" = 'Yes',
    NULL,                    -- Toggl's export carries no per-entry rate ...
    NULL,                    -- ... and no creation time
    CAST("Updated at" AS TIMESTAMP),
    "Approval status",
    CAST(nullif("Submitted at", '') AS TIMESTAMP),
    CAST(nullif("Approved at", '') AS TIMESTAMP),
    nullif("Client", ''),
    NULL
FROM toggl_versions
UNION ALL
SELECT
    'toggl',
    t.id,
    CAST(t.user_id AS VARCHAR),
    t.project_name,
    CASE WHEN regexp_matches(split_part(t.project_name, ' ', 1), '^(P|INT)-')
        THEN split_part(t.project_name, ' ', 1) END,
    t.task_name,
    CAST(timezone('Europe/Amsterdam', CAST(t.start AS TIMESTAMPTZ)) AS DATE),
    CAST(t.duration / 3600 AS DECIMAL(9,2)),
    t.description,
    t.billable,
    NULL,
    NULL,
    t.at,
    NULL,                    -- the API carries no approval audit: not submitted
    NULL,
    NULL,
    t.client_name,
    NULL
FROM toggl_api_versions;

CREATE OR REPLACE TABLE skipped_files AS
SELECT
    replace(unparseable_file, getvariable('landing') || '/', '') AS path,
    'unparseable' AS reason
FROM time_entry_versions
WHERE unparseable_file IS NOT NULL
UNION ALL
SELECT replace(filename, getvariable('landing') || '/', ''), skip_reason
FROM sae_files
WHERE skip_reason IS NOT NULL;

-- Incremental exports carry an entry again whenever it changes; the version with the latest
-- updated_at wins, whatever the order the files were delivered in (the late-arriving page
-- included). Two copies of one version carry the same state, so which copy wins is moot.
-- Versions after the as-of day have not happened yet. Row-level load rules (docs/sources.md:
-- invalid types, out-of-range values, ...) are not repeated here: the generator plants none
-- (every file's expected_rejected_rows is 0); its defects are business exceptions, §4.
CREATE OR REPLACE TEMP TABLE time_entries AS
SELECT * EXCLUDE (unparseable_file)
FROM time_entry_versions
WHERE entry_id IS NOT NULL AND updated_at < as_of_end()
QUALIFY row_number() OVER (PARTITION BY source, entry_id ORDER BY updated_at DESC) = 1;

DROP TABLE time_entry_versions;

-- Each latest entry with what the rules need: its project (if known), worker, role, contract
-- and resolved bill rate.
CREATE OR REPLACE TEMP TABLE time_entries_enriched AS
WITH with_worker AS (
    SELECT
        e.*,
        -- Harvest: the user's e-mail (harvest/users) = HR e-mail, else the identity mapping;
        -- Toggl: the entry's Email = HR e-mail, else (API rows: a user id) the identity mapping.
        coalesce(by_email.employee_id, by_mapping.target_id) AS employee_id
    FROM time_entries AS e
    LEFT JOIN harvest_users AS hu
        ON e.source = 'harvest' AND hu.user_id = TRY_CAST(e.user_key AS BIGINT)
    LEFT JOIN hr_workers AS by_email
        ON by_email.email = CASE e.source WHEN 'harvest' THEN hu.email ELSE lower(e.user_key) END
    LEFT JOIN identity_mappings AS by_mapping
        ON by_mapping.source_system = e.source
        AND by_mapping.entity = 'user'
        AND by_mapping.source_id = e.user_key
),
with_project AS (
    SELECT
        e.*,
        w.role,
        p.project_key IS NOT NULL AS project_known,
        p.code AS project_code_in_psa,
        p.is_active AS project_active,
        p.end_date AS project_end_date,
        p.default_rate,
        p.contract_id,
        c.project_code AS contract_project_code,
        c.currency AS contract_currency,
        c.end_date AS contract_end_date
    FROM with_worker AS e
    LEFT JOIN hr_workers AS w USING (employee_id)
    LEFT JOIN psa_projects AS p
        ON p.source = e.source
        AND p.project_key = e.project_key
        -- docs/sources.md says Toggl project names are unique, but two Toggl projects set up
        -- without a code can share a name (seen at scale 1.0): then the entry's Client (the
        -- account the project's contract belongs to) picks the right one
        AND (p.key_is_unique OR p.client_name = e.client_name)
    LEFT JOIN contracts AS c
        ON c.contract_id = p.contract_id
),
rate_card_rates AS (
    -- the contract's rate card line for (contract, role) effective on the work date
    SELECT e.source, e.entry_id, arg_max(r.bill_rate, r.effective_from) AS card_rate
    FROM with_project AS e
    JOIN rate_card_lines AS r
        ON r.contract_id = e.contract_id
        AND r.role = e.role
        AND e.spent_date BETWEEN r.effective_from AND r.effective_to
    GROUP BY e.source, e.entry_id
)
SELECT
    e.*,
    -- docs/design.md §4: rate card line, else the project default rate, else none
    coalesce(r.card_rate, e.default_rate) AS resolved_rate,
    -- canonical project code: the project's own (through its contract when the PSA lacks it);
    -- for an unknown project, the code the entry carries
    CASE WHEN e.project_known THEN coalesce(e.project_code_in_psa, e.contract_project_code)
        ELSE e.code_on_entry END AS project_code
FROM with_project AS e
LEFT JOIN rate_card_rates AS r USING (source, entry_id);

DROP TABLE time_entries;


-- ---------------------------------------------------------------------------------------------
-- 4. Record-level exceptions of time entries (docs/generator.md, "Exception rules")
-- ---------------------------------------------------------------------------------------------
-- Every predicate is the documented one, on latest versions. All rules except unknown_project,
-- duplicate_entry, future_dated and over_daily_limit need a known project. Contract-level
-- reasons (currency_mismatch, missing_legal_entity) flag the contract, not its entries, so
-- they do not stop an entry from being billable; they are not needed here.

CREATE OR REPLACE TABLE time_entry_exceptions AS
WITH same_work_groups AS (
    -- duplicate_entry: same PSA, same (user, project, task, date, hours, notes) as an entry
    -- with a smaller id; every member of such a group but the lowest id is flagged
    SELECT
        source, user_key, project_key, task_key, spent_date, hours, notes,
        min(entry_id) AS first_entry_id
    FROM time_entries_enriched
    GROUP BY ALL
    HAVING count(*) > 1
),
worker_days AS (
    -- over_daily_limit: the worker's hours that day over both PSAs, all entries
    SELECT employee_id, spent_date, sum(hours) AS worker_day_hours
    FROM time_entries_enriched
    WHERE employee_id IS NOT NULL
    GROUP BY ALL
),
entries AS (
    SELECT
        e.*,
        -- Harvest only: is there an assignment of this task / this user to the project?
        ta.project_id IS NOT NULL AS task_on_project,
        ua.project_id IS NOT NULL AS user_assigned,
        coalesce(e.entry_id > dup.first_entry_id, false) AS is_repeat,
        wd.worker_day_hours
    FROM time_entries_enriched AS e
    LEFT JOIN harvest_task_assignments AS ta
        ON e.source = 'harvest'
        AND ta.project_id = TRY_CAST(e.project_key AS BIGINT)
        AND ta.task_id = TRY_CAST(e.task_key AS BIGINT)
    LEFT JOIN harvest_user_assignments AS ua
        ON e.source = 'harvest'
        AND ua.project_id = TRY_CAST(e.project_key AS BIGINT)
        AND ua.user_id = TRY_CAST(e.user_key AS BIGINT)
    LEFT JOIN same_work_groups AS dup
        USING (source, user_key, project_key, task_key, spent_date, hours, notes)
    LEFT JOIN worker_days AS wd
        USING (employee_id, spent_date)
),
flags AS (
    SELECT
        source,
        entry_id,
        NOT project_known AS unknown_project,
        project_known AND NOT project_active AND spent_date > project_end_date
            AS closed_project,
        project_known AND source = 'harvest' AND NOT task_on_project AS task_not_on_project,
        project_known AND source = 'harvest' AND NOT user_assigned AS resource_not_assigned,
        project_known AND billable AND resolved_rate IS NULL AS missing_rate,
        project_known AND source = 'harvest' AND billable
            AND resolved_rate IS NOT NULL AND psa_rate IS NOT NULL
            AND psa_rate <> resolved_rate AS rate_mismatch,
        is_repeat AS duplicate_entry,
        source = 'harvest' AND spent_date > CAST(created_at AS DATE) AS future_dated,
        worker_day_hours > 16 AS over_daily_limit,
        project_known AND billable AND project_active AND contract_end_date < spent_date
            AS expired_contract
    FROM entries
)
SELECT source, entry_id, reason
FROM flags
UNPIVOT (flagged FOR reason IN (
    unknown_project, closed_project, task_not_on_project, resource_not_assigned, missing_rate,
    rate_mismatch, duplicate_entry, future_dated, over_daily_limit, expired_contract
))
WHERE flagged;


-- ---------------------------------------------------------------------------------------------
-- 5. ERP: released (posted) and paid invoices, and the records each line bills
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE TEMP TABLE invoices AS
SELECT
    CAST(internal_id AS BIGINT) AS internal_id,
    tranid,
    CAST(trandate AS DATE) AS trandate,
    -- all legacy billing is monthly, a few days after the month it bills: the billing period
    -- ends on the last day of the month before the invoice date
    CAST(date_trunc('month', CAST(trandate AS DATE)) AS DATE) - 1 AS period_end,
    CASE WHEN CAST(nullif(released_date, '') AS DATE) <= as_of_date()
        THEN CAST(released_date AS DATE) END AS released_date,
    CASE WHEN CAST(nullif(paid_date, '') AS DATE) <= as_of_date()
        THEN CAST(paid_date AS DATE) END AS paid_date
FROM csv_files('erp/invoices/*.csv');

-- custcol_psa_source_ids: `;`-separated `harvest:<id>`, `toggl:<id>` or `concur:<id>`.
CREATE OR REPLACE TEMP TABLE billed_records AS
SELECT
    split_part(ref, ':', 1) AS source,
    CAST(split_part(ref, ':', 2) AS BIGINT) AS record_id,
    invoice_internal_id
FROM (
    SELECT
        CAST(invoice_internal_id AS BIGINT) AS invoice_internal_id,
        unnest(string_split(custcol_psa_source_ids, ';')) AS ref
    FROM csv_files('erp/invoice_lines/*.csv')
)
WHERE ref <> '';

-- Per time entry: on a line of a released invoice; on an invoice paid by d.
CREATE OR REPLACE TEMP TABLE entry_invoicing AS
SELECT
    b.source,
    b.record_id AS entry_id,
    bool_or(i.released_date IS NOT NULL) AS invoiced,
    bool_or(i.paid_date IS NOT NULL) AS paid
FROM billed_records AS b
JOIN invoices AS i ON i.internal_id = b.invoice_internal_id
WHERE b.source IN ('harvest', 'toggl')
GROUP BY ALL;

-- Concur expense lines of the files read (one row per Report Entry ID).
CREATE OR REPLACE TEMP TABLE expense_lines AS
SELECT
    CAST(fields[61] AS BIGINT) AS concur_entry_id,  -- Report Entry Id
    fields[19] AS report_id,
    CAST(fields[42] AS TIMESTAMP) AS approved_at   -- the tenant's approval (Report Custom 2)
FROM (
    SELECT filename, string_split(unnest(string_split(content, chr(10))), '|') AS fields
    FROM sae_files
    WHERE skip_reason IS NULL
)
WHERE fields[1] = 'DETAIL'
QUALIFY row_number() OVER (PARTITION BY concur_entry_id ORDER BY filename) = 1;


-- ---------------------------------------------------------------------------------------------
-- 6. The headline figures
-- ---------------------------------------------------------------------------------------------

-- Each entry classified once for the funnel and WIP.
CREATE OR REPLACE TEMP TABLE classified_entries AS
SELECT
    e.source,
    e.entry_id,
    e.project_code,
    e.contract_id,
    e.contract_currency,
    strftime(e.spent_date, '%Y-%m') AS work_month,
    e.hours,
    e.resolved_rate,
    CAST(e.approved_at AS DATE) AS approval_date,
    e.approval_status = 'approved' AS approved,
    -- billable: approved AND the billable flag AND no record-level exception
    e.approval_status = 'approved' AND e.billable AND x.entry_id IS NULL AS billable_valid,
    coalesce(inv.invoiced, false) AS invoiced,
    coalesce(inv.paid, false) AS paid
FROM time_entries_enriched AS e
LEFT JOIN (SELECT DISTINCT source, entry_id FROM time_entry_exceptions) AS x
    USING (source, entry_id)
LEFT JOIN entry_invoicing AS inv
    USING (source, entry_id);

CREATE OR REPLACE TABLE funnel_hours AS
SELECT
    project_code,
    work_month,
    sum(hours) AS delivered_hours,
    coalesce(sum(hours) FILTER (WHERE approved), 0) AS approved_hours,
    coalesce(sum(hours) FILTER (WHERE billable_valid), 0) AS billable_hours,
    coalesce(sum(hours) FILTER (WHERE invoiced), 0) AS invoiced_hours,
    coalesce(sum(hours) FILTER (WHERE paid), 0) AS paid_hours
FROM classified_entries
GROUP BY project_code, work_month;

-- Unbilled WIP: approved, billable, valid hours on no posted invoice line at d; valued at the
-- resolved rate; aged by days from the approval date (UTC) to d.
CREATE OR REPLACE TABLE unbilled_wip AS
WITH unbilled AS (
    SELECT
        project_code,
        contract_id,
        contract_currency AS currency,
        hours,
        hours * resolved_rate AS value,
        as_of_date() - approval_date AS age_days
    FROM classified_entries
    WHERE billable_valid AND NOT invoiced
)
SELECT
    project_code,
    contract_id,
    currency,
    sum(hours) AS unbilled_hours,
    round(sum(value), 2) AS unbilled_value,
    coalesce(sum(hours) FILTER (WHERE age_days <= 30), 0) AS hours_0_30,
    coalesce(round(sum(value) FILTER (WHERE age_days <= 30), 2), 0) AS value_0_30,
    coalesce(sum(hours) FILTER (WHERE age_days BETWEEN 31 AND 60), 0) AS hours_31_60,
    coalesce(round(sum(value) FILTER (WHERE age_days BETWEEN 31 AND 60), 2), 0) AS value_31_60,
    coalesce(sum(hours) FILTER (WHERE age_days BETWEEN 61 AND 90), 0) AS hours_61_90,
    coalesce(round(sum(value) FILTER (WHERE age_days BETWEEN 61 AND 90), 2), 0) AS value_61_90,
    coalesce(sum(hours) FILTER (WHERE age_days BETWEEN 91 AND 120), 0) AS hours_91_120,
    coalesce(round(sum(value) FILTER (WHERE age_days BETWEEN 91 AND 120), 2), 0)
        AS value_91_120,
    coalesce(sum(hours) FILTER (WHERE age_days > 120), 0) AS hours_over_120,
    coalesce(round(sum(value) FILTER (WHERE age_days > 120), 2), 0) AS value_over_120
FROM unbilled
GROUP BY project_code, contract_id, currency;

-- Expense posting lag: ERP posted date − expense (report final) approval date.
CREATE OR REPLACE TABLE expense_posting_lags AS
WITH postings AS (
    SELECT
        CAST(concur_entry_id AS BIGINT) AS concur_entry_id,
        min(CAST(posted_date AS DATE)) AS posted_date
    FROM csv_files('erp/expense_postings/*.csv')
    WHERE CAST(posted_date AS DATE) <= as_of_date()
    GROUP BY ALL
)
SELECT
    x.concur_entry_id,
    x.report_id,
    x.approved_at,
    p.posted_date,
    p.posted_date - CAST(x.approved_at AS DATE) AS lag_days,
    business_days(CAST(x.approved_at AS DATE), p.posted_date) AS lag_business_days
FROM expense_lines AS x
LEFT JOIN postings AS p USING (concur_entry_id);

-- Invoice release delay: released date − the date its last line became billable, i.e. the
-- later of the billing period end and the approval date of the last record it bills.
CREATE OR REPLACE TEMP TABLE invoice_readiness AS
WITH record_approvals AS (
    SELECT b.invoice_internal_id, CAST(e.approved_at AS DATE) AS approval_date
    FROM billed_records AS b
    JOIN time_entries_enriched AS e ON e.source = b.source AND e.entry_id = b.record_id
    UNION ALL
    SELECT b.invoice_internal_id, CAST(x.approved_at AS DATE)
    FROM billed_records AS b
    JOIN expense_lines AS x ON b.source = 'concur' AND x.concur_entry_id = b.record_id
),
last_approval AS (
    SELECT invoice_internal_id AS internal_id, max(approval_date) AS last_approval_date
    FROM record_approvals
    GROUP BY invoice_internal_id
)
SELECT
    i.*,
    greatest(i.period_end, a.last_approval_date) AS ready_date
FROM invoices AS i
LEFT JOIN last_approval AS a USING (internal_id);

CREATE OR REPLACE TABLE invoice_release_delays AS
SELECT
    internal_id,
    tranid,
    ready_date,
    released_date,
    released_date - ready_date AS delay_days,
    business_days(ready_date, released_date) AS delay_business_days
FROM invoice_readiness
WHERE released_date IS NOT NULL;

-- Median, p90 (continuous quantiles) and SLA breaches (business days > SLA) of each lag of
-- docs/design.md §4. `open_items` are still waiting at d; `open_past_sla` of them already exceed it.
-- Time approval lag (approved_at − submitted_at) is measured in exact elapsed days.
CREATE OR REPLACE TABLE lag_summary AS
WITH measured AS (
    SELECT
        'time_approval_lag' AS metric,
        sla('sla_time_approval', 2) AS sla_business_days,
        epoch(approved_at - submitted_at) / 86400 AS days,
        business_days(CAST(submitted_at AS DATE), CAST(approved_at AS DATE)) AS business_days,
        NULL::BIGINT AS open_business_days
    FROM time_entries_enriched
    WHERE approval_status = 'approved'
    UNION ALL
    SELECT
        'time_approval_lag', sla('sla_time_approval', 2), NULL, NULL,
        business_days(CAST(submitted_at AS DATE), as_of_date())
    FROM time_entries_enriched
    WHERE approval_status = 'submitted'
    UNION ALL
    SELECT
        'expense_posting_lag', sla('sla_expense_posting', 10), lag_days, lag_business_days,
        CASE WHEN posted_date IS NULL
            THEN business_days(CAST(approved_at AS DATE), as_of_date()) END
    FROM expense_posting_lags
    UNION ALL
    SELECT
        'invoice_release_delay', sla('sla_invoice_release', 5),
        released_date - ready_date, business_days(ready_date, released_date),
        CASE WHEN released_date IS NULL THEN business_days(ready_date, as_of_date()) END
    FROM invoice_readiness
)
SELECT
    metric,
    any_value(sla_business_days) AS sla_business_days,
    count(days) AS measured,
    median(days) AS median_days,
    quantile_cont(days, 0.9) AS p90_days,
    median(business_days) AS median_business_days,
    quantile_cont(business_days, 0.9) AS p90_business_days,
    count(*) FILTER (WHERE business_days > sla_business_days) AS sla_breaches,
    count(open_business_days) AS open_items,
    count(*) FILTER (WHERE open_business_days > sla_business_days) AS open_past_sla
FROM measured
GROUP BY metric;
