//! The integration status of contacts, stored as a rank (`autotask_contact.status`) so a
//! filter or sort by it uses an index: the rules in SQL, and the one statement that
//! computes it again after any change that can move it.

use super::super::dynamic::{bind_all, in_list, Arg};
use app::types::contacts::IntegrationStatus;
use sqlx::Any;

/// "Keep Taskbridge's" stores both sides' values as they were; while they stay so, the
/// difference is not flagged. The same expression writes and compares it.
pub const SIGNATURE_SQL: &str =
    "u.first_name || '|' || u.last_name || '|' || cast(u.customer_id as text) || '|' || c.first_name || '|' || c.last_name \
     || '|' || coalesce(cast(c.company_id as text), '')";

/// Whether the user's customer is linked to the contact's company on the Customer Map.
pub(super) const SAME_COMPANY_SQL: &str =
    "exists (select 1 from customer_link l where l.partner_id = c.partner_id and l.customer_id = u.customer_id and l.company_id = c.company_id)";

/// [`SAME_COMPANY_SQL`] as a 1/0 column of a few shown rows: a correlated lookup, which
/// PostgreSQL would otherwise turn into a hash of every link of the partner.
pub(crate) const SAME_COMPANY_VALUE_SQL: &str =
    "coalesce((select 1 from customer_link l where l.partner_id = c.partner_id and l.customer_id = u.customer_id and l.company_id = c.company_id limit 1), 0)";

/// The stored status ranks (`autotask_contact.status`), in the order a status sort lists them.
const FAILED: i64 = 0;
const MODIFIED: i64 = 1;
const EQUAL: i64 = 2;
const BLANK: i64 = 3;

/// The status a stored rank stands for.
pub fn status_of(rank: i64) -> IntegrationStatus {
    match rank {
        FAILED => IntegrationStatus::Failed,
        MODIFIED => IntegrationStatus::Modified,
        EQUAL => IntegrationStatus::Equal,
        _ => IntegrationStatus::Blank,
    }
}

pub(super) fn rank_of(status: IntegrationStatus) -> i64 {
    match status {
        IntegrationStatus::Failed => FAILED,
        IntegrationStatus::Modified => MODIFIED,
        IntegrationStatus::Equal => EQUAL,
        IntegrationStatus::Blank => BLANK,
    }
}

/// Computes the status of contacts again (`only`: these contacts; None: every contact of
/// the partner that has a backup user, a failure or a status other than blank). Run by
/// every change that can move a status: an import, a backup user's edit, deletion or
/// settling, a contact fetch and a Customer Map change.
pub async fn refresh_status<'e, E>(executor: E, partner_id: i64, only: Option<&[i64]>) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let user = "from backup_user u where u.partner_id = c.partner_id and u.contact_id = c.contact_id";
    let (scope, args) = match only {
        Some([]) => return Ok(()),
        Some(ids) => in_list("c.contact_id in", partner_id, ids),
        None => (format!("(c.status <> {BLANK} or c.import_message is not null or exists (select 1 {user}))"), vec![Arg::Int(partner_id)]),
    };
    let sql = format!(
        "update autotask_contact as c set status = case \
           when exists (select 1 {user}) then (select case \
               when u.first_name = c.first_name and u.last_name = c.last_name and {SAME_COMPANY_SQL} then {EQUAL} \
               when u.kept_signature = {SIGNATURE_SQL} then {EQUAL} else {MODIFIED} end {user}) \
           when c.import_message is not null then {FAILED} else {BLANK} end \
         where c.partner_id = $1 and {scope}"
    );
    bind_all(sqlx::query(&sql), &args).execute(executor).await.map(|_| ())
}
