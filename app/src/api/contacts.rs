//! The Contacts page: get Autotask contacts, list them with their integration status,
//! choose destinations and packages, and import them as backup users.

use crate::error::AppError;
use crate::types::companies::JobView;
use crate::types::contacts::{ChoicesSet, ContactPage, ContactQuery, ContactSelection};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// A page of the fetched contacts (everyone in the partner may look).
#[server(prefix = "/rpc", endpoint = "list_contacts", input = Json)]
pub async fn list_contacts(query: ContactQuery) -> Result<ContactPage, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.contacts.list(user.partner_id, query).await
}

/// Starts "Get Autotask contacts" (admins: it spends the partner's Autotask API budget).
#[server(prefix = "/rpc", endpoint = "start_contact_fetch")]
pub async fn start_contact_fetch() -> Result<JobView, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.contacts.start_fetch(&admin).await
}

/// Sets the destination and/or package of the selected contacts' import.
#[server(prefix = "/rpc", endpoint = "set_contact_choices", input = Json)]
pub async fn set_contact_choices(selection: ContactSelection, destination_id: Option<i64>, package_id: Option<i64>) -> Result<ChoicesSet, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.contacts.set_choices(&admin, selection, destination_id, package_id).await
}

/// Starts importing the selected contacts as backup users.
#[server(prefix = "/rpc", endpoint = "import_contacts", input = Json)]
pub async fn import_contacts(selection: ContactSelection) -> Result<JobView, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.contacts.start_import(&admin, selection, None).await
}

/// The latest contact fetch and import, so a revisited page shows work in progress.
#[server(prefix = "/rpc", endpoint = "latest_contact_jobs")]
pub async fn latest_contact_jobs() -> Result<(Option<JobView>, Option<JobView>), AppError> {
    let user = crate::auth::require_user()?;
    let companies = crate::services::services()?.companies;
    Ok((
        companies.latest_job(user.partner_id, crate::types::companies::JobKind::ContactFetch).await?,
        companies.latest_job(user.partner_id, crate::types::companies::JobKind::ContactImport).await?,
    ))
}
