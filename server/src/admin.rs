//! Shell tasks: `taskbridge admin create-partner`, and the demo partner of demo mode.

use crate::config::CreatePartnerArgs;
use crate::db::partners::{create_partner, find_by_name};
use crate::db::Db;
use anyhow::Context;
use app::types::{parse_email, parse_name, parse_password, DemoCredentials, NewUser, Role};

/// The demo partner's name.
pub const DEMO_PARTNER: &str = "Demo MSP";
/// The demo admin's email.
pub const DEMO_EMAIL: &str = "admin@demo-msp.example";
/// The demo admin's password (demo mode only; shown on the sign-in page).
pub const DEMO_PASSWORD: &str = "taskbridge-demo";

/// Creates the demo partner and admin on first start; returns the credentials to show.
pub async fn ensure_demo_partner(db: &Db) -> anyhow::Result<DemoCredentials> {
    if find_by_name(db, DEMO_PARTNER).await.map_err(|e| anyhow::anyhow!("{e}"))?.is_none() {
        let admin = NewUser { email: DEMO_EMAIL.into(), name: "Demo Admin".into(), role: Role::Admin, password: DEMO_PASSWORD.into() };
        create_partner(db, DEMO_PARTNER, admin).await.map_err(|e| anyhow::anyhow!("creating the demo partner: {e}"))?;
        tracing::info!("created the demo partner {DEMO_PARTNER:?}");
    }
    if crate::db::users::set_demo_admin_disabled(db, DEMO_PARTNER, DEMO_EMAIL, false).await? {
        tracing::info!("demo mode is on again: the demo admin {DEMO_EMAIL} can sign in");
    }
    Ok(DemoCredentials { email: DEMO_EMAIL.into(), password: DEMO_PASSWORD.into() })
}

/// Without demo mode, the demo admin's known password must not open anything: its account
/// is disabled (its sessions end with it) until demo mode is turned on again.
pub async fn retire_demo_admin(db: &Db) -> anyhow::Result<()> {
    if crate::db::users::set_demo_admin_disabled(db, DEMO_PARTNER, DEMO_EMAIL, true).await? {
        tracing::warn!("demo mode is off: disabled the demo admin {DEMO_EMAIL}, whose password is public");
    }
    Ok(())
}

/// `taskbridge admin create-partner`.
pub async fn create_partner_command(args: CreatePartnerArgs) -> anyhow::Result<()> {
    let email = parse_email(&args.admin_email).map_err(|e| anyhow::anyhow!("--admin-email: {e}"))?;
    let default_name = email.split('@').next().unwrap_or("Admin").to_string();
    let name = parse_name(args.admin_name.as_deref().unwrap_or(&default_name)).map_err(|e| anyhow::anyhow!("--admin-name: {e}"))?;
    let password = match &args.password_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading --password-file {}", path.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        None => {
            let first =
                rpassword::prompt_password(format!("Password for {email}: ")).context("reading the password (no terminal? use --password-file)")?;
            let again = rpassword::prompt_password("Repeat the password: ").context("reading the password")?;
            anyhow::ensure!(first == again, "the two passwords differ; nothing was created");
            first
        }
    };
    let password = parse_password(&password).map_err(|e| anyhow::anyhow!("password: {e}"))?;
    let db = Db::connect(&args.store.database_url()).await?;
    db.migrate().await?;
    let created = create_partner(&db, &args.name, NewUser { email: email.clone(), name, role: Role::Admin, password })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("Created partner {:?} (id {}) with admin {email} (user id {}).", args.name.trim(), created.partner_id, created.user_id);
    Ok(())
}
