//! # bazaar-store
//!
//! Storage for Bazaar on two databases with one behaviour: embedded SQLite (the default, one
//! writer connection plus a pool of readers, WAL) and PostgreSQL (production). See
//! `docs/adr/0001-dual-database.md`.
//!
//! How the two are reached: [`Db`] is an enum over the two sqlx pools. Queries are written once
//! in the portable subset (`$1` parameters, `RETURNING`, `ON CONFLICT`) and the `on_read!` and
//! `in_tx!` macros of `db` expand the same code once per backend, so each backend gets
//! concretely typed sqlx calls; writes that several use-cases make are typed methods of an
//! area's trait (`orders::OrderWrites`, `stock::StockWrites`, …) implemented for both
//! connections; where the dialects differ, a query branches on [`Backend`].
//! Each backend has its own migration tree (`migrations/sqlite`, `migrations/postgres`) with the
//! same file names.
//!
//! The use-cases here (create a product, decide on a seller, import a CSV) check the caller's
//! rights with the pure rules of `bazaar-domain` inside the same transaction as the write, so a
//! check and the change it guards cannot drift apart.
#![forbid(unsafe_code)]

pub mod db;

pub mod aftersales;
pub mod catalog;
pub mod delivery;
pub mod demo;
pub mod error;
pub mod jobs;
pub mod live;
pub mod logistics;
pub mod network;
pub mod notify;
pub mod orders;
pub mod payments;
pub mod people;
pub mod stats;
pub mod stock;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub use db::page::{Cursor, KeyCursor, Page};
pub use error::StoreError;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The connection pools of one database.
#[derive(Debug, Clone)]
pub enum Db {
    /// SQLite: one writer connection (SQLite has one writer at a time anyway; queueing in the
    /// pool is cheaper than busy-waiting) and a pool of read-only connections.
    Sqlite {
        /// The single writer.
        write: SqlitePool,
        /// Readers.
        read: SqlitePool,
    },
    /// PostgreSQL: one pool for everything.
    Pg(PgPool),
}

/// The store: cheap to clone, shared by every request.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    /// The sandbox payment provider forced on or off for this process (`None`: as the
    /// database's `payments_sandbox` setting says, which only demo data turns on).
    sandbox: Option<bool>,
    /// The words of messages to people (see [`notify`]).
    messages: std::sync::Arc<dyn notify::Messages>,
}

/// The default SQLite database path, created on first start.
pub const DEFAULT_SQLITE_PATH: &str = "data/bazaar.db";

impl Store {
    /// Opens the database named by `url`.
    ///
    /// - `postgres://…` / `postgresql://…`: PostgreSQL.
    /// - `sqlite:PATH` / `sqlite://PATH`: SQLite. The file must exist unless `create` is true or
    ///   the URL says `?mode=rwc`; a mistyped path is an error, never a new empty database.
    ///
    /// Any other scheme is an error.
    pub async fn connect(url: &str, create: bool) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(|e| StoreError::Config(format!("cannot connect to PostgreSQL: {e}")))?;
            return Ok(Store {
                db: Db::Pg(pool),
                sandbox: None,
                messages: std::sync::Arc::new(notify::Plain),
            });
        }
        let Some(rest) = url.strip_prefix("sqlite:") else {
            return Err(StoreError::Config(format!(
                "unsupported database URL {:?}: use sqlite:PATH or postgres://USER@HOST/DB",
                redact_url(url)
            )));
        };
        let explicit_create = url.contains("mode=rwc");
        let path_part = rest.trim_start_matches("//");
        let path = path_part.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return Err(StoreError::Config(
                "an SQLite database needs a file path (sqlite:data/bazaar.db)".into(),
            ));
        }
        let exists = Path::new(path).exists();
        if !exists && !create && !explicit_create {
            return Err(StoreError::Config(format!(
                "SQLite database {path:?} does not exist. Check the path, or add ?mode=rwc to \
                 the URL to create a new database there"
            )));
        }
        if !exists
            && let Some(dir) = Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Config(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let base = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(|e| StoreError::Config(format!("bad SQLite URL: {e}")))?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone().create_if_missing(create || explicit_create))
            .await
            .map_err(|e| {
                StoreError::Config(format!("cannot open SQLite database {path:?}: {e}"))
            })?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(base.read_only(true));
        Ok(Store {
            db: Db::Sqlite { write, read },
            sandbox: None,
            messages: std::sync::Arc::new(notify::Plain),
        })
    }

    /// The same store with the sandbox payment provider explicitly on or off, whatever the
    /// database says (`bazaar serve --payment-sandbox on|off`).
    pub fn with_payment_sandbox(mut self, on: Option<bool>) -> Store {
        self.sandbox = on;
        self
    }

    /// The same store composing messages to people with `messages` (the catalogues).
    pub fn with_messages(mut self, messages: std::sync::Arc<dyn notify::Messages>) -> Store {
        self.messages = messages;
        self
    }

    /// The words of messages to people.
    pub(crate) fn messages(&self) -> &dyn notify::Messages {
        self.messages.as_ref()
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Pg(_) => Backend::Postgres,
        }
    }

    /// The pools (for backend-specific code and tests).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite { write, .. } => sqlx::migrate!("./migrations/sqlite")
                .run(write)
                .await
                .map_err(|e| StoreError::Config(format!("migration failed: {e}")))?,
            Db::Pg(p) => sqlx::migrate!("./migrations/postgres")
                .run(p)
                .await
                .map_err(|e| StoreError::Config(format!("migration failed: {e}")))?,
        }
        Ok(())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_read!(self, |p| {
            sqlx::query("SELECT 1").execute(p).await?;
        });
        Ok(())
    }

    /// Whether the database holds no regions yet (a new database).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = on_read!(self, |p| {
            sqlx::query_scalar("SELECT COUNT(*) FROM regions")
                .fetch_one(p)
                .await?
        });
        Ok(n == 0)
    }

    /// Closes the pools.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Db::Pg(p) => p.close().await,
        }
    }
}

/// A URL with its password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn mistyped_urls_are_errors_not_new_databases() {
        let missing = std::env::temp_dir().join("bazaar-no-such-dir/x.db");
        let url = format!("sqlite:{}", missing.display());
        assert!(matches!(
            Store::connect(&url, false).await,
            Err(StoreError::Config(_))
        ));
        assert!(!missing.exists());
        assert!(matches!(
            Store::connect("postgress://u@h/db", false).await,
            Err(StoreError::Config(_))
        ));
        assert!(matches!(
            Store::connect("sqlite::memory:", false).await,
            Err(StoreError::Config(_))
        ));
    }

    /// The SQLite and PostgreSQL migrations make the same tables with the same columns (a
    /// column added to one dialect only fails here). Runs where PostgreSQL is given
    /// (`BAZAAR_TEST_DATABASE_URL`, as CI does).
    #[tokio::test]
    async fn both_dialects_migrate_to_the_same_tables_and_columns() {
        use sqlx::Connection;
        use std::collections::BTreeSet;
        let Some(base) = std::env::var("BAZAAR_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            eprintln!(
                "BAZAAR_TEST_DATABASE_URL not set: the dialect comparison runs with PostgreSQL"
            );
            return;
        };
        let file = std::env::temp_dir().join(format!("bazaar-schema-{}.db", std::process::id()));
        let lite = Store::connect(&format!("sqlite:{}", file.display()), true)
            .await
            .expect("sqlite");
        lite.migrate().await.expect("migrate sqlite");
        let name = format!("bazaar_schema_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&base).await.expect("postgres");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .await
            .expect("drop");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create");
        let cut = base.rfind('/').expect("database URL has a path");
        let pg = Store::connect(&format!("{}/{name}", &base[..cut]), false)
            .await
            .expect("pg");
        pg.migrate().await.expect("migrate postgres");
        let lite_cols: BTreeSet<(String, String)> = match lite.db() {
            Db::Sqlite { read, .. } => sqlx::query_as(
                "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                 AND m.name NOT LIKE '_sqlx%'",
            )
            .fetch_all(read)
            .await
            .expect("sqlite columns")
            .into_iter()
            .collect(),
            Db::Pg(_) => unreachable!("a sqlite URL"),
        };
        let pg_cols: BTreeSet<(String, String)> = match pg.db() {
            Db::Pg(p) => sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'",
            )
            .fetch_all(p)
            .await
            .expect("postgres columns")
            .into_iter()
            .collect(),
            Db::Sqlite { .. } => unreachable!("a postgres URL"),
        };
        drop(pg);
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await;
        let _ = std::fs::remove_file(&file);
        let only_lite: Vec<_> = lite_cols.difference(&pg_cols).collect();
        let only_pg: Vec<_> = pg_cols.difference(&lite_cols).collect();
        assert!(
            only_lite.is_empty() && only_pg.is_empty(),
            "only in SQLite: {only_lite:?}; only in PostgreSQL: {only_pg:?}"
        );
        assert!(lite_cols.contains(&("jobs".into(), "every_ms".into())));
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite:data/x.db"), "sqlite:data/x.db");
    }
}
