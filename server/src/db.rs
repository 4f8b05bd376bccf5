//! The database: one sqlx `Any` pool over SQLite (default) or PostgreSQL, with embedded
//! migrations per dialect. Queries are written once in the SQL both understand
//! (`$1` placeholders, `returning`, `on conflict`); where they differ, `Db::kind` decides.

pub mod audit;
pub mod auth;
pub mod backup_users;
pub mod billing;
pub mod billing_schedule;
pub mod companies;
pub mod connection;
pub mod contacts;
pub mod customers;
pub mod dispatch;
pub mod dynamic;
pub mod events;
pub mod history;
pub mod jobs;
pub mod links;
pub mod map;
pub mod overview;
pub mod partners;
pub mod storage;
pub mod sync;
pub mod tickets;
pub mod tokens;
pub mod usage;
pub mod users;

use anyhow::Context;
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;
use std::time::Duration;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    /// One file, one instance.
    Sqlite,
    /// Shared by several instances.
    Postgres,
}

/// A connection pool and its dialect.
#[derive(Debug, Clone)]
pub struct Db {
    /// The pool.
    pub pool: AnyPool,
    /// The dialect.
    pub kind: DbKind,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects (creating the SQLite file and its directory if needed).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let kind = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DbKind::Postgres
        } else if url.starts_with("sqlite:") {
            DbKind::Sqlite
        } else {
            anyhow::bail!("DATABASE_URL must start with postgres:// or sqlite: (got {:?})", url.split(':').next().unwrap_or(""));
        };
        if kind == DbKind::Sqlite {
            if let Some(path) = sqlite_path(url) {
                if let Some(dir) = std::path::Path::new(&path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir).with_context(|| format!("creating data directory {}", dir.display()))?;
                    }
                }
            }
        }
        let options = AnyPoolOptions::new()
            .max_connections(if kind == DbKind::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if kind == DbKind::Sqlite {
                        // WAL lets readers run beside the writer (and the admin CLI beside the
                        // server); busy_timeout queues writers instead of failing them.
                        conn.execute(
                            "pragma journal_mode = wal; pragma busy_timeout = 10000; pragma foreign_keys = on; pragma synchronous = normal;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            });
        let pool = options.connect(url).await.with_context(|| format!("connecting to the {kind:?} database"))?;
        Ok(Self { pool, kind })
    }

    /// Applies the embedded migrations of this dialect.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.kind {
            DbKind::Sqlite => &SQLITE_MIGRATIONS,
            DbKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.context("running database migrations")
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`begin
    /// immediate`): a deferred transaction that reads and then writes fails at once with
    /// SQLITE_BUSY (its snapshot went stale) when another connection wrote in between, and
    /// `busy_timeout` cannot help it; an immediate one waits its turn instead. Every
    /// transaction that writes starts here, never with `pool.begin()`.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.kind {
            DbKind::Sqlite => self.pool.begin_with("begin immediate").await,
            DbKind::Postgres => self.pool.begin().await,
        }
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> bool {
        sqlx::query("select 1").execute(&self.pool).await.is_ok()
    }
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_read_from_urls() {
        assert_eq!(sqlite_path("sqlite://data/tb.db?mode=rwc").as_deref(), Some("data/tb.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}
