//! Storage behaviour on both databases: migrations, uniqueness, the last-admin rule.

use crate::helpers::{both_databases, spawn, Backend};
use app::error::AppError;

both_databases!(
    migrations_apply_and_reapply_cleanly,
    emails_are_unique_across_partners,
    a_partner_always_keeps_an_active_admin,
    two_admins_stepping_down_at_once_leave_one_admin,
    invalid_users_are_refused_field_by_field,
);

async fn migrations_apply_and_reapply_cleanly(backend: Backend) {
    let app = spawn(backend).await;
    assert_eq!(app.backend, backend);
    let expected = match backend {
        Backend::Sqlite => server::db::DbKind::Sqlite,
        Backend::Postgres => server::db::DbKind::Postgres,
    };
    assert_eq!(app.state.db.kind, expected);
    // Running them again (a second instance starting) is a no-op.
    app.state.db.migrate().await.unwrap();
    for table in ["partner", "app_user", "session", "sign_in_throttle", "api_token", "audit_event"] {
        let n: i64 = sqlx::query_scalar(&format!("select count(*) from {table}")).fetch_one(&app.state.db.pool).await.unwrap();
        assert!(n >= 0, "{table}");
    }
    let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations where success = true").fetch_one(&app.state.db.pool).await.unwrap();
    assert!(applied >= 1);
}

async fn emails_are_unique_across_partners(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("UniqA").await;
    let b = app.partner("UniqB").await;
    let admin_b = app.signed_in(&b.email, &b.password).await;
    let (_, error) =
        admin_b.err("create_user", &[("email", &a.email), ("name", "Dup"), ("role", "admin"), ("password", "long-enough-password")]).await;
    let message = error.field_message("email").unwrap();
    assert!(
        message.contains("cannot be added") && !message.contains(&a.email) && !message.contains("account"),
        "another partner's user is not revealed: {message}"
    );
    let (_, here) =
        admin_b.err("create_user", &[("email", &b.email), ("name", "Dup"), ("role", "admin"), ("password", "long-enough-password")]).await;
    assert!(here.field_message("email").unwrap().contains("already a user of this account"), "{here:?}");
    let dup = server::db::partners::create_partner(
        &app.state.db,
        &a.name,
        app::types::NewUser {
            email: "new@uniq.example".into(),
            name: "N".into(),
            role: app::types::Role::Admin,
            password: "long-enough-password".into(),
        },
    )
    .await;
    assert!(matches!(dup, Err(AppError::Conflict(_))), "{dup:?}");
}

async fn a_partner_always_keeps_an_active_admin(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Last").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    let users = admin.ok("list_users", &[]).await;
    let me = users[0]["user_id"].to_string();
    let (_, error) = admin.err("set_user_role", &[("user_id", &me), ("role", "technician")]).await;
    assert!(matches!(error, AppError::Conflict(ref m) if m.contains("last active admin")), "{error:?}");
    let (_, error) = admin.err("set_user_disabled", &[("user_id", &me), ("disabled", "true")]).await;
    assert!(matches!(error, AppError::Conflict(_)), "{error:?}");
    // With a second admin, the first can step down.
    admin.ok("create_user", &[("email", "second@last.example"), ("name", "Second"), ("role", "admin"), ("password", "long-enough-password")]).await;
    let changed = admin.ok("set_user_role", &[("user_id", &me), ("role", "technician")]).await;
    assert_eq!(changed["role"], "technician");
}

/// Two admins demoting (or disabling) each other at the same moment: one change wins, the
/// other is refused, and the partner keeps an active admin. The check runs inside the
/// write's transaction, under a lock of the partner's row.
async fn two_admins_stepping_down_at_once_leave_one_admin(backend: Backend) {
    let app = spawn(backend).await;
    for round in 0..6 {
        let a = app.partner("Race").await;
        let first = app.signed_in(&a.email, &a.password).await;
        let second_email = format!("second{round}@race.example");
        let created =
            first.ok("create_user", &[("email", &second_email), ("name", "Second"), ("role", "admin"), ("password", "long-enough-password")]).await;
        let second = app.signed_in(&second_email, "long-enough-password").await;
        let users = first.ok("list_users", &[]).await;
        let first_id = users.as_array().unwrap().iter().find(|u| u["email"] == a.email.as_str()).unwrap()["user_id"].to_string();
        let second_id = created["user_id"].to_string();
        // Round by round, alternate demotions and disables so both paths race.
        let (endpoint, value) = if round % 2 == 0 { ("set_user_role", ("role", "technician")) } else { ("set_user_disabled", ("disabled", "true")) };
        let (demote_second, demote_first) = ([("user_id", second_id.as_str()), value], [("user_id", first_id.as_str()), value]);
        let (one, two) = tokio::join!(first.call(endpoint, &demote_second), second.call(endpoint, &demote_first));
        let succeeded = [one.status().is_success(), two.status().is_success()].iter().filter(|ok| **ok).count();
        let admins = sqlx::query_scalar::<_, i64>("select count(*) from app_user where partner_id = $1 and role = 'admin' and disabled = 0")
            .bind(a.partner_id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(admins, 1, "round {round} ({endpoint}): the partner must keep exactly one active admin ({succeeded} changes succeeded)");
        assert_eq!(succeeded, 1, "round {round}: one change wins, the other is refused");
    }
}

async fn invalid_users_are_refused_field_by_field(backend: Backend) {
    let app = spawn(backend).await;
    let a = app.partner("Fields").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    for (field, args) in [
        ("email", [("email", "not-an-email"), ("name", "N"), ("role", "admin"), ("password", "long-enough-password")]),
        ("name", [("email", "n@fields.example"), ("name", "  "), ("role", "admin"), ("password", "long-enough-password")]),
        ("role", [("email", "n@fields.example"), ("name", "N"), ("role", "owner"), ("password", "long-enough-password")]),
        ("password", [("email", "n@fields.example"), ("name", "N"), ("role", "admin"), ("password", "short")]),
    ] {
        let (_, error) = admin.err("create_user", &args).await;
        assert!(error.field_message(field).is_some(), "{field}: {error:?}");
    }
    assert_eq!(admin.ok("list_users", &[]).await.as_array().unwrap().len(), 1, "nothing was created");
}

/// The two migration trees (one per dialect) define the same tables, the same columns in
/// each and the same named indexes, so a feature never works on one database only
/// (PostgreSQL's trigram search indexes, named `*_trgm`, have no SQLite counterpart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_migration_trees_define_the_same_schema() {
    use std::collections::BTreeMap;
    let sqlite = spawn(Backend::Sqlite).await;
    let postgres = spawn(Backend::Postgres).await;
    let mut lite: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let tables: Vec<String> =
        sqlx::query_scalar("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name <> '_sqlx_migrations'")
            .fetch_all(&sqlite.state.db.pool)
            .await
            .unwrap();
    for table in tables {
        let mut columns: Vec<String> =
            sqlx::query_scalar(&format!("select name from pragma_table_info('{table}')")).fetch_all(&sqlite.state.db.pool).await.unwrap();
        columns.sort();
        lite.insert(table, columns);
    }
    let mut pg: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns where table_schema = 'public' and table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&postgres.state.db.pool)
    .await
    .unwrap();
    for (table, column) in rows {
        pg.entry(table).or_default().push(column);
    }
    pg.values_mut().for_each(|c| c.sort());
    assert!(lite.len() >= 20 && lite.contains_key("incident"), "every migration ran: {:?}", lite.keys());
    assert_eq!(lite.keys().collect::<Vec<_>>(), pg.keys().collect::<Vec<_>>(), "the same tables");
    for (table, columns) in &lite {
        assert_eq!(Some(columns), pg.get(table), "the columns of {table}");
    }
    let mut lite_indexes: Vec<String> =
        sqlx::query_scalar("select name from sqlite_master where type = 'index' and sql is not null").fetch_all(&sqlite.state.db.pool).await.unwrap();
    let mut pg_indexes: Vec<String> = sqlx::query_scalar(
        "select i.indexname::text from pg_indexes i where i.schemaname = 'public' \
         and not exists (select 1 from pg_constraint c where c.conname = i.indexname) and i.indexname not like '%\\_trgm'",
    )
    .fetch_all(&postgres.state.db.pool)
    .await
    .unwrap();
    lite_indexes.sort();
    pg_indexes.sort();
    assert!(lite_indexes.len() >= 10, "{lite_indexes:?}");
    assert_eq!(lite_indexes, pg_indexes, "the same named indexes");
}
