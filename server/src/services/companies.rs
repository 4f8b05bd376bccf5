//! Autotask companies in Taskbridge: discovery (a background job pulling every company,
//! the country table, the company types and the primary contacts), the searchable list
//! the Companies page pages through, and import as customers under the seed's rules.

pub mod rules;

use crate::autotask::entities::{Company, Contact, Country};
use crate::autotask::{AutotaskError, FetchProgress, Filter, Query};
use crate::db::connection::SqlAutotaskSettings;
use crate::db::dynamic::{bind_all, in_list, page_bounds, search_sql, AnyQuery, Arg};
use crate::db::{now_ms, Db};
use crate::error::SqlxResultExt;
use crate::workers::jobs::{Jobs, Outcome, Progress};
use app::error::AppError;
use app::regions::region_for;
use app::services::CompanyService;
use app::types::companies::{
    CompanyFilter, CompanyPage, CompanyQuery, CompanyRow, CompanySort, ImportSelection, ImportStatus, JobKind, JobView, StatusFilter, TypeOption,
    MAX_PAGE_SIZE, MAX_SELECTED_IDS,
};
use app::types::CurrentUser;
use rules::{check, CustomerDraft, Discovered};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Rows written per statement when saving a discovery.
const SAVE_BATCH: usize = 100;
/// Companies imported per transaction.
const IMPORT_BATCH: usize = 200;

/// `CompanyService` over the database and the partner's Autotask.
#[derive(Clone)]
pub struct SqlCompanies {
    db: Db,
    settings: SqlAutotaskSettings,
    jobs: Jobs,
}

/// The `where` clause of a filter (the partner is always `$1`).
fn filter_sql(partner_id: i64, filter: &CompanyFilter) -> (String, Vec<Arg>) {
    let mut sql = "partner_id = $1".to_string();
    let mut args = vec![Arg::Int(partner_id)];
    let next = |args: &mut Vec<Arg>, a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    sql.push_str(&search_sql(&filter.search, "name_key", "company_id", &mut args));
    if let Some(t) = filter.company_type {
        let p = next(&mut args, Arg::Int(t));
        sql.push_str(&format!(" and company_type = {p}"));
    }
    if let Some(active) = filter.active {
        let p = next(&mut args, Arg::Int(i64::from(active)));
        sql.push_str(&format!(" and is_active = {p}"));
    }
    match filter.status {
        None => {}
        Some(StatusFilter::NotImported) => sql.push_str(" and import_status is null"),
        Some(StatusFilter::Imported) => sql.push_str(" and import_status = 'imported'"),
        Some(StatusFilter::Failed) => sql.push_str(" and import_status = 'failed'"),
        Some(StatusFilter::Problem) => sql.push_str(" and import_status is null and problem is not null"),
    }
    (sql, args)
}

fn order_sql(sort: CompanySort) -> &'static str {
    match sort {
        CompanySort::Name => "name_key, company_id",
        CompanySort::NameDesc => "name_key desc, company_id desc",
        CompanySort::Id => "company_id",
        CompanySort::Country => "coalesce(country_name, ''), name_key, company_id",
        CompanySort::Status => {
            "case when import_status = 'failed' then 0 when import_status is null and problem is not null then 1 when import_status is null then 2 else 3 end, name_key, company_id"
        }
    }
}

fn place(city: &Option<String>, state: &Option<String>) -> String {
    [city, state].iter().filter_map(|v| v.as_deref().map(str::trim).filter(|s| !s.is_empty())).collect::<Vec<_>>().join(", ")
}

fn company_row(r: &AnyRow) -> Result<CompanyRow, sqlx::Error> {
    let status = match r.try_get::<Option<String>, _>("import_status")?.as_deref() {
        Some("imported") => ImportStatus::Imported,
        Some("failed") => ImportStatus::Failed,
        _ => ImportStatus::NotImported,
    };
    let problem: Option<String> = r.try_get("problem")?;
    let message: Option<String> = r.try_get("import_message")?;
    let country_code: Option<String> = r.try_get("country_code")?;
    let first: Option<String> = r.try_get("contact_first")?;
    let last: Option<String> = r.try_get("contact_last")?;
    let email: Option<String> = r.try_get("contact_email")?;
    let contact_id: Option<i64> = r.try_get("contact_id")?;
    Ok(CompanyRow {
        company_id: r.try_get("company_id")?,
        name: r.try_get("name")?,
        type_label: r.try_get("type_label")?,
        active: r.try_get::<i64, _>("is_active")? != 0,
        place: place(&r.try_get("city")?, &r.try_get("state")?),
        region: region_for(country_code.as_deref().unwrap_or("US")).to_string(),
        country_code,
        country_name: r.try_get("country_name")?,
        contact: contact_id
            .map(|_| (format!("{} {}", first.unwrap_or_default(), last.unwrap_or_default()).trim().to_string(), email.unwrap_or_default())),
        reason: match status {
            ImportStatus::Failed => message,
            ImportStatus::Imported => message,
            ImportStatus::NotImported => problem.clone(),
        },
        problem,
        status,
        missing: r.try_get::<i64, _>("missing")? != 0,
        import_at: r.try_get("import_at")?,
    })
}

/// Copies a fetch's counters into the job's progress while `fut` runs.
async fn mirrored<T>(progress: &Progress, fetch: &FetchProgress, fut: impl Future<Output = T>) -> T {
    let copy = || progress.set(fetch.fetched.load(Ordering::Relaxed) as i64, fetch.expected.load(Ordering::Relaxed) as i64);
    tokio::pin!(fut);
    loop {
        tokio::select! {
            out = &mut fut => {
                copy();
                return out;
            }
            _ = tokio::time::sleep(Duration::from_millis(150)) => copy(),
        }
    }
}

fn describe(e: AutotaskError) -> String {
    e.to_string()
}

/// A discovered company, as fetched.
struct Fetched {
    company: Company,
    type_label: String,
    country: Option<(String, String)>,
    contact: Option<Contact>,
    problem: Option<String>,
}

impl SqlCompanies {
    /// Companies on this database, fetched through the partner's saved connection.
    pub fn new(db: Db, settings: SqlAutotaskSettings, jobs: Jobs) -> Self {
        Self { db, settings, jobs }
    }

    /// Fetches everything from Autotask and saves it; the job's work.
    pub async fn discover(&self, partner_id: i64, progress: &Progress) -> Outcome {
        let client = self.settings.client(partner_id).await.map_err(|p| p.message)?;
        progress.stage("Reading countries and company types", 0);
        let every_country = Query::new([Filter::all()]);
        let (countries, types) = tokio::join!(client.query::<Country>(&every_country), client.picklist("Companies", "companyType"));
        let countries: HashMap<i64, (String, String)> = countries
            .map_err(describe)?
            .into_iter()
            .filter_map(|c| Some((c.id, (c.country_code?, c.display_name.or(c.name).unwrap_or_default()))))
            .collect();
        let types: HashMap<i64, String> = types.map_err(describe)?.into_iter().filter_map(|v| Some((v.value.parse().ok()?, v.label))).collect();

        progress.stage("Fetching companies", 0);
        let fetch = FetchProgress::default();
        let companies = mirrored(progress, &fetch, client.fetch_all_counted::<Company>(vec![Filter::all()], &fetch)).await.map_err(describe)?;
        progress.stage("Fetching primary contacts", 0);
        let fetch = FetchProgress::default();
        let contacts = mirrored(progress, &fetch, client.fetch_all_counted::<Contact>(vec![Filter::eq("primaryContact", true)], &fetch))
            .await
            .map_err(describe)?;
        // One primary contact per company; an active one wins over an inactive one.
        let mut primary: HashMap<i64, Contact> = HashMap::new();
        for c in contacts {
            let Some(company_id) = c.company_id else { continue };
            let active = c.is_active.unwrap_or(1) != 0;
            match primary.get(&company_id) {
                Some(existing) if existing.is_active.unwrap_or(1) != 0 || !active => {}
                _ => {
                    primary.insert(company_id, c);
                }
            }
        }

        let fetched: Vec<Fetched> = companies
            .into_iter()
            .map(|company| {
                let country = company.country_id.and_then(|id| countries.get(&id).cloned());
                let contact = primary.remove(&company.id);
                let type_label =
                    company.company_type.map(|t| types.get(&t).cloned().unwrap_or_else(|| format!("Type {t}"))).unwrap_or_else(|| "\u{2014}".into());
                let discovered = Discovered {
                    name: company.company_name.clone().unwrap_or_default(),
                    is_active: company.is_active.unwrap_or(true),
                    address1: company.address1.clone(),
                    address2: company.address2.clone(),
                    city: company.city.clone(),
                    state: company.state.clone(),
                    postal_code: company.postal_code.clone(),
                    country_code: country.as_ref().map(|c| c.0.clone()),
                    country_name: country.as_ref().map(|c| c.1.clone()),
                    contact: contact.as_ref().map(|c| (c.first_name.clone(), c.last_name.clone(), c.email_address.clone())),
                    contact_inactive: contact.as_ref().is_some_and(|c| c.is_active == Some(0)),
                };
                let problem = check(&discovered).err();
                Fetched { company, type_label, country, contact, problem }
            })
            .collect();

        progress.stage("Saving", fetched.len() as i64);
        let started = now_ms();
        let before: i64 = sqlx::query_scalar("select count(*) from autotask_company where partner_id = $1 and missing = 0")
            .bind(partner_id)
            .fetch_one(&self.db.pool)
            .await
            .map_err(|e| format!("database: {e}"))?;
        let mut saved = 0i64;
        for chunk in fetched.chunks(SAVE_BATCH) {
            self.save_batch(partner_id, chunk, started).await.map_err(|e| format!("saving companies: {e}"))?;
            saved += chunk.len() as i64;
            progress.set(saved, fetched.len() as i64);
        }
        let gone = sqlx::query("update autotask_company set missing = 1 where partner_id = $1 and seen_at < $2 and missing = 0")
            .bind(partner_id)
            .bind(started)
            .execute(&self.db.pool)
            .await
            .map_err(|e| format!("database: {e}"))?
            .rows_affected();
        let problems = fetched.iter().filter(|f| f.problem.is_some()).count();
        progress.stage("Matching names", 0);
        crate::services::map::rematch(&self.db, partner_id).await.map_err(|e| format!("matching: {e}"))?;
        progress.succeeded.store(saved, Ordering::Relaxed);
        let new = (saved - before + gone as i64).max(0);
        Ok(format!(
            "Discovered {saved} companies in Autotask ({new} new{}); {problems} would fail to import as they are.",
            if gone > 0 { format!(", {gone} no longer in Autotask") } else { String::new() }
        ))
    }

    async fn save_batch(&self, partner_id: i64, rows: &[Fetched], seen_at: i64) -> Result<(), sqlx::Error> {
        const COLS: &[&str] = &[
            "partner_id",
            "company_id",
            "name",
            "name_key",
            "company_type",
            "type_label",
            "is_active",
            "address1",
            "address2",
            "city",
            "state",
            "postal_code",
            "country_id",
            "country_code",
            "country_name",
            "phone",
            "web_address",
            "contact_id",
            "contact_first",
            "contact_last",
            "contact_email",
            "problem",
            "seen_at",
        ];
        let mut sql = format!("insert into autotask_company ({}, missing) values ", COLS.join(", "));
        for i in 0..rows.len() {
            let base = i * COLS.len();
            let params: Vec<String> = (1..=COLS.len()).map(|n| format!("${}", base + n)).collect();
            sql.push_str(if i == 0 { "(" } else { ", (" });
            sql.push_str(&params.join(", "));
            sql.push_str(", 0)");
        }
        let updates: Vec<String> = COLS.iter().skip(2).map(|c| format!("{c} = excluded.{c}")).collect();
        sql.push_str(&format!(" on conflict (partner_id, company_id) do update set {}, missing = 0", updates.join(", ")));
        let mut q = sqlx::query(&sql);
        for f in rows {
            let c = &f.company;
            let name = c.company_name.clone().unwrap_or_default();
            q = q
                .bind(partner_id)
                .bind(c.id)
                .bind(name.clone())
                .bind(name.to_lowercase())
                .bind(c.company_type)
                .bind(f.type_label.clone())
                .bind(i64::from(c.is_active.unwrap_or(true)))
                .bind(c.address1.clone())
                .bind(c.address2.clone())
                .bind(c.city.clone())
                .bind(c.state.clone())
                .bind(c.postal_code.clone())
                .bind(c.country_id)
                .bind(f.country.as_ref().map(|x| x.0.clone()))
                .bind(f.country.as_ref().map(|x| x.1.clone()))
                .bind(c.phone.clone())
                .bind(c.web_address.clone())
                .bind(f.contact.as_ref().map(|x| x.id))
                .bind(f.contact.as_ref().and_then(|x| x.first_name.clone()))
                .bind(f.contact.as_ref().and_then(|x| x.last_name.clone()))
                .bind(f.contact.as_ref().and_then(|x| x.email_address.clone()))
                .bind(f.problem.clone())
                .bind(seen_at);
        }
        q.execute(&self.db.pool).await.map(|_| ())
    }

    /// The ids a selection stands for, checked against what was discovered.
    async fn resolve(&self, partner_id: i64, selection: ImportSelection) -> Result<Vec<i64>, AppError> {
        match selection {
            ImportSelection::Matching(filter) => {
                let (where_sql, args) = filter_sql(partner_id, &filter);
                let sql = format!("select company_id from autotask_company where {where_sql} order by name_key, company_id");
                let rows = bind_all(sqlx::query(&sql), &args).fetch_all(&self.db.pool).await.internal()?;
                let ids: Vec<i64> = rows.iter().map(|r| r.try_get::<i64, _>("company_id")).collect::<Result<_, _>>().internal()?;
                if ids.is_empty() {
                    return Err(AppError::invalid("selection", "No company matches this filter. Change the filter or run Discover."));
                }
                Ok(ids)
            }
            ImportSelection::Ids(mut ids) => {
                ids.sort_unstable();
                ids.dedup();
                if ids.is_empty() {
                    return Err(AppError::invalid("selection", "Select at least one company to import."));
                }
                if ids.len() > MAX_SELECTED_IDS {
                    return Err(AppError::invalid(
                        "selection",
                        format!("Select at most {MAX_SELECTED_IDS} companies one by one, or use \u{201c}select all matching\u{201d}."),
                    ));
                }
                let known = discovered_ids(&self.db, partner_id, &ids).await.internal()?;
                if let Some(unknown) = ids.iter().find(|id| !known.contains(id)) {
                    return Err(AppError::invalid(
                        "selection",
                        format!("Company {unknown} has not been discovered. Run Discover, then select it again."),
                    ));
                }
                Ok(ids)
            }
        }
    }

    /// Imports the companies (already resolved); the job's work.
    pub async fn import(&self, partner_id: i64, actor: &str, ids: &[i64], progress: &Progress) -> Outcome {
        progress.stage("Importing", ids.len() as i64);
        let mut done = 0i64;
        let (mut created, mut updated) = (0i64, 0i64);
        for chunk in ids.chunks(IMPORT_BATCH) {
            let (c, u) =
                self.import_batch(partner_id, actor, chunk, progress).await.map_err(|e| format!("database error after {done} companies: {e}"))?;
            created += c;
            updated += u;
            done += chunk.len() as i64;
            progress.set(done, ids.len() as i64);
        }
        crate::services::map::rematch(&self.db, partner_id).await.map_err(|e| format!("matching: {e}"))?;
        let failed = progress.failed.load(Ordering::Relaxed);
        let mut summary = format!("Imported {} of {} companies as customers ({created} new, {updated} updated)", done - failed, ids.len());
        if failed > 0 {
            summary.push_str(&format!("; {failed} failed \u{2014} see the reasons on the Companies page"));
        }
        summary.push('.');
        Ok(summary)
    }

    async fn import_batch(&self, partner_id: i64, actor: &str, ids: &[i64], progress: &Progress) -> Result<(i64, i64), sqlx::Error> {
        let (sql, args) = in_list(
            &format!("select company_id, {DISCOVERED_COLUMNS} from autotask_company where partner_id = $1 and company_id in"),
            partner_id,
            ids,
        );
        let rows = bind_all(sqlx::query(&sql), &args).fetch_all(&self.db.pool).await?;
        let now = now_ms();
        let (mut created, mut updated) = (0, 0);
        let mut tx = self.db.begin().await?;
        for r in &rows {
            let company_id: i64 = r.try_get("company_id")?;
            let missing = r.try_get::<i64, _>("missing")? != 0;
            let discovered = discovered_from_row(r)?;
            let outcome = if missing {
                Err("This company is no longer in Autotask (the latest discovery did not see it).".to_string())
            } else {
                check(&discovered)
            };
            let (status, message) = match outcome {
                Ok(draft) => {
                    match upsert_customer(&mut tx, partner_id, actor, company_id, &draft, now).await? {
                        Upsert::Created => created += 1,
                        Upsert::Updated => updated += 1,
                    }
                    progress.succeeded.fetch_add(1, Ordering::Relaxed);
                    ("imported", None)
                }
                Err(reason) => {
                    progress.failed.fetch_add(1, Ordering::Relaxed);
                    ("failed", Some(reason))
                }
            };
            sqlx::query(
                "update autotask_company set import_status = $1, import_message = $2, import_at = $3 where partner_id = $4 and company_id = $5",
            )
            .bind(status)
            .bind(message)
            .bind(now)
            .bind(partner_id)
            .bind(company_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok((created, updated))
    }
}

enum Upsert {
    Created,
    Updated,
}

/// Binds a draft's fields in table order: name, address1, address2, city, state,
/// postal code, country, region, admin first, last, email.
fn bind_draft<'q>(q: AnyQuery<'q>, d: &'q CustomerDraft) -> AnyQuery<'q> {
    [&d.name, &d.address1, &d.address2, &d.city, &d.state, &d.postal_code, &d.country_code, &d.region, &d.admin_first, &d.admin_last, &d.admin_email]
        .into_iter()
        .fold(q, |q, v| q.bind(v.as_str()))
}

/// Which of `ids` the partner has discovered.
pub async fn discovered_ids(db: &Db, partner_id: i64, ids: &[i64]) -> Result<std::collections::HashSet<i64>, sqlx::Error> {
    let mut known = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        let (sql, args) = in_list("select company_id from autotask_company where partner_id = $1 and company_id in", partner_id, chunk);
        for r in bind_all(sqlx::query(&sql), &args).fetch_all(&db.pool).await? {
            known.insert(r.try_get::<i64, _>("company_id")?);
        }
    }
    Ok(known)
}

/// The `autotask_company` columns [`discovered_from_row`] reads.
pub const DISCOVERED_COLUMNS: &str = "name, is_active, address1, address2, city, state, postal_code, country_code, country_name, contact_id, contact_first, contact_last, contact_email, missing";

/// What the import rules need from an `autotask_company` row.
pub fn discovered_from_row(r: &AnyRow) -> Result<Discovered, sqlx::Error> {
    Ok(Discovered {
        name: r.try_get("name")?,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        address1: r.try_get("address1")?,
        address2: r.try_get("address2")?,
        city: r.try_get("city")?,
        state: r.try_get("state")?,
        postal_code: r.try_get("postal_code")?,
        country_code: r.try_get("country_code")?,
        country_name: r.try_get("country_name")?,
        contact: r
            .try_get::<Option<i64>, _>("contact_id")?
            .map(|_| -> Result<_, sqlx::Error> { Ok((r.try_get("contact_first")?, r.try_get("contact_last")?, r.try_get("contact_email")?)) })
            .transpose()?,
        contact_inactive: false,
    })
}

/// Inserts a customer from a draft; returns its id.
pub async fn insert_customer(
    tx: &mut sqlx::Transaction<'_, Any>,
    partner_id: i64,
    d: &CustomerDraft,
    source: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let inserted = bind_draft(
        sqlx::query(
            "insert into customer (partner_id, name, address1, address2, city, state, postal_code, country_code, region, admin_first, admin_last, admin_email, source, created_at, updated_at, name_key) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15) returning customer_id",
        )
        .bind(partner_id),
        d,
    )
    .bind(source)
    .bind(now)
    .bind(d.name.to_lowercase())
    .fetch_one(&mut **tx)
    .await?;
    inserted.try_get("customer_id")
}

/// Creates the customer of a company, or refreshes the customers an earlier import made
/// from it (customers matched by hand keep their own details).
async fn upsert_customer(
    tx: &mut sqlx::Transaction<'_, Any>,
    partner_id: i64,
    actor: &str,
    company_id: i64,
    d: &CustomerDraft,
    now: i64,
) -> Result<Upsert, sqlx::Error> {
    let linked = sqlx::query("select l.customer_id, c.source from customer_link l join customer c on c.customer_id = l.customer_id where l.partner_id = $1 and l.company_id = $2")
        .bind(partner_id)
        .bind(company_id)
        .fetch_all(&mut **tx)
        .await?;
    if linked.is_empty() {
        let customer_id = insert_customer(tx, partner_id, d, "autotask_import", now).await?;
        sqlx::query("insert into customer_link (partner_id, customer_id, company_id, customer_name_at_link, company_name_at_link, linked_at, linked_by) values ($1, $2, $3, $4, $4, $5, $6)")
            .bind(partner_id)
            .bind(customer_id)
            .bind(company_id)
            .bind(&d.name)
            .bind(now)
            .bind(actor)
            .execute(&mut **tx)
            .await?;
        return Ok(Upsert::Created);
    }
    for r in &linked {
        let customer_id: i64 = r.try_get("customer_id")?;
        if r.try_get::<String, _>("source")? != "autotask_import" {
            continue;
        }
        bind_draft(
            sqlx::query(
                "update customer set name = $1, address1 = $2, address2 = $3, city = $4, state = $5, postal_code = $6, country_code = $7, region = $8, \
                 admin_first = $9, admin_last = $10, admin_email = $11, updated_at = $12, name_key = $15 where customer_id = $13 and partner_id = $14",
            ),
            d,
        )
        .bind(now)
        .bind(customer_id)
        .bind(partner_id)
        .bind(d.name.to_lowercase())
        .execute(&mut **tx)
        .await?;
        sqlx::query("update customer_link set customer_name_at_link = $1, company_name_at_link = $1 where customer_id = $2 and company_id = $3")
            .bind(&d.name)
            .bind(customer_id)
            .bind(company_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(Upsert::Updated)
}

#[async_trait::async_trait]
impl CompanyService for SqlCompanies {
    async fn list(&self, partner_id: i64, query: CompanyQuery) -> Result<CompanyPage, AppError> {
        let (where_sql, args) = filter_sql(partner_id, &query.filter);
        let total: i64 = {
            let sql = format!("select count(*) as n from autotask_company where {where_sql}");
            bind_all(sqlx::query(&sql), &args).fetch_one(&self.db.pool).await.internal()?.try_get("n").internal()?
        };
        let (page, per_page, offset) = page_bounds(total, query.page, query.per_page, MAX_PAGE_SIZE);
        let sql = format!("select * from autotask_company where {where_sql} order by {} limit {per_page} offset {offset}", order_sql(query.sort));
        let rows = bind_all(sqlx::query(&sql), &args).fetch_all(&self.db.pool).await.internal()?;
        let rows = rows.iter().map(company_row).collect::<Result<Vec<_>, _>>().internal()?;
        let types = sqlx::query("select company_type, type_label, count(*) as n from autotask_company where partner_id = $1 and company_type is not null group by company_type, type_label order by type_label")
            .bind(partner_id)
            .fetch_all(&self.db.pool)
            .await
            .internal()?
            .iter()
            .map(|r| Ok(TypeOption { value: r.try_get("company_type")?, label: r.try_get("type_label")?, count: r.try_get("n")? }))
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .internal()?;
        let discovered: i64 = sqlx::query_scalar("select count(*) from autotask_company where partner_id = $1")
            .bind(partner_id)
            .fetch_one(&self.db.pool)
            .await
            .internal()?;
        let autotask_web_url = crate::db::connection::web_url(&self.db, partner_id).await.internal()?;
        Ok(CompanyPage {
            rows,
            total,
            discovered,
            page,
            per_page,
            types,
            discovered_at: self.jobs.last_success_at(partner_id, JobKind::Discover).await?,
            autotask_web_url,
        })
    }

    async fn start_discovery(&self, actor: &CurrentUser) -> Result<JobView, AppError> {
        // Refuse at once when there is nothing to connect with.
        if let Err(p) = self.settings.client(actor.partner_id).await {
            return Err(AppError::Conflict(p.message));
        }
        let this = self.clone();
        let partner_id = actor.partner_id;
        self.jobs
            .spawn(partner_id, JobKind::Discover, &actor.email, "Starting", move |progress: Arc<Progress>| async move {
                this.discover(partner_id, &progress).await
            })
            .await
    }

    async fn start_import(&self, actor: &CurrentUser, selection: ImportSelection) -> Result<JobView, AppError> {
        let ids = self.resolve(actor.partner_id, selection).await?;
        let this = self.clone();
        let partner_id = actor.partner_id;
        let email = actor.email.clone();
        self.jobs
            .spawn(partner_id, JobKind::Import, &actor.email, "Importing", move |progress: Arc<Progress>| async move {
                this.import(partner_id, &email, &ids, &progress).await
            })
            .await
    }

    async fn job(&self, partner_id: i64, job_id: i64) -> Result<JobView, AppError> {
        self.jobs.get(partner_id, job_id).await
    }

    async fn latest_job(&self, partner_id: i64, kind: JobKind) -> Result<Option<JobView>, AppError> {
        self.jobs.latest(partner_id, kind).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::dynamic::like_escape;

    #[test]
    fn search_patterns_escape_like_wildcards() {
        assert_eq!(like_escape("50%_off\\"), "50\\%\\_off\\\\");
        let (sql, args) =
            filter_sql(7, &CompanyFilter { search: "1042".into(), company_type: Some(1), active: Some(true), status: Some(StatusFilter::Problem) });
        assert_eq!(sql, "partner_id = $1 and (name_key like $2 escape '\\' or company_id = $3) and company_type = $4 and is_active = $5 and import_status is null and problem is not null");
        assert_eq!(args.len(), 5);
    }
}
