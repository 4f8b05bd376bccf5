-- Storage destinations (a bucket, container or root folder at a provider), where a
-- backup user's data goes; packages (a storage limit, the user's quota); the
-- partner's Autotask contacts as the latest "Get Autotask contacts" saw them; and
-- backup users, most of them imported from those contacts (seed 001).
-- SQLite flavour; migrations/postgres holds the same schema.

create table storage_destination (
    destination_id integer primary key autoincrement,
    partner_id bigint not null references partner (partner_id),
    name text not null,
    -- Lower-cased name: two destinations of a partner cannot share a name.
    name_key text not null,
    provider text not null,
    -- bucket, container or root_folder; follows the provider.
    kind text not null,
    -- The bucket or container name, or the folder's path.
    location text not null,
    -- The provider's region (null where it has none).
    region text,
    -- Retired: kept for the users on it, no longer offered for new ones.
    retired_at bigint,
    created_at bigint not null,
    updated_at bigint not null
);
create unique index storage_destination_name on storage_destination (partner_id, name_key);

create table storage_package (
    package_id integer primary key autoincrement,
    partner_id bigint not null references partner (partner_id),
    name text not null,
    name_key text not null,
    -- The storage limit in GB; null is unlimited.
    limit_gb bigint,
    retired_at bigint,
    created_at bigint not null,
    updated_at bigint not null
);
create unique index storage_package_name on storage_package (partner_id, name_key);

-- One row per Autotask contact the latest fetch returned (or an earlier one did:
-- `missing` = 1 when the latest no longer saw it).
create table autotask_contact (
    partner_id bigint not null references partner (partner_id),
    contact_id bigint not null,
    company_id bigint,
    first_name text not null,
    last_name text not null,
    email text not null,
    -- Lower-cased "first last" for sorting, and name + email for search.
    name_key text not null,
    search_key text not null,
    -- The company's lower-cased name as discovered (search and sort without a join; kept
    -- current by every contact fetch and company discovery).
    company_key text not null default '',
    is_active bigint not null,
    seen_at bigint not null,
    missing bigint not null default 0,
    -- The destination and package chosen on the Contacts page for its import.
    destination_id bigint,
    package_id bigint,
    -- Why its last import failed (null: it did not fail, or it was imported since).
    import_message text,
    import_at bigint,
    -- The integration status, kept by every change that can move it (import, a backup
    -- user's edit or deletion, a contact fetch, a Customer Map change) so that filtering
    -- and sorting by it use an index. Ranked as listed first: 0 failed, 1 modified,
    -- 2 equal, 3 blank.
    status bigint not null default 3,
    primary key (partner_id, contact_id)
);
create index autotask_contact_by_name on autotask_contact (partner_id, name_key, contact_id);
create index autotask_contact_by_company on autotask_contact (partner_id, company_id, name_key);
create index autotask_contact_by_email on autotask_contact (partner_id, email, contact_id);
create index autotask_contact_by_status on autotask_contact (partner_id, status, name_key, contact_id);
create index autotask_contact_by_company_name on autotask_contact (partner_id, company_key, name_key, contact_id);

create table backup_user (
    backup_user_id integer primary key autoincrement,
    partner_id bigint not null references partner (partner_id),
    customer_id bigint not null references customer (customer_id),
    first_name text not null,
    last_name text not null,
    -- The user's login on the backup platform; unique per partner among live users.
    email text not null,
    email_key text not null,
    -- Checked by the service, not by a foreign key: a deleted user's tombstone keeps the
    -- ids of a destination or package deleted since.
    destination_id bigint not null,
    package_id bigint not null,
    -- The Autotask contact it was imported from. Null once its email changed (the seed:
    -- a new user), once deleted, or for a user not imported from a contact.
    contact_id bigint,
    -- "Keep Taskbridge's": both sides' values when the difference was accepted, so a
    -- later change on either side flags it again.
    kept_signature text,
    created_at bigint not null,
    created_by text not null,
    updated_at bigint not null,
    -- Deleted users stay as tombstones, so the machine API's changed_since readers see
    -- the deletion.
    deleted_at bigint
);
create unique index backup_user_email on backup_user (partner_id, email_key) where deleted_at is null;
create unique index backup_user_contact on backup_user (partner_id, contact_id) where contact_id is not null;
create index backup_user_by_changed on backup_user (partner_id, updated_at, backup_user_id);
create index backup_user_by_customer on backup_user (partner_id, customer_id);
