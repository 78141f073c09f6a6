//! Persistence of Moat: one schema on SQLite (the embedded default: one file in the
//! data directory, WAL mode, durable commits) and on PostgreSQL (scale-out), through
//! sqlx. Queries are written once in the SQL both understand and run through sqlx's
//! `Any` driver; migrations are kept per backend in `migrations/`.
//!
//! Every change runs in a [`Tx`] from [`Store::begin`], which first locks the audit
//! head: writers are serialised, and a change commits together with its audit entry
//! or not at all.
//!
//! ```no_run
//! # async fn demo() -> Result<(), moat_store::Error> {
//! let store = moat_store::Store::open("sqlite://.moat/moat.db", moat_store::Open::CreateIfMissing).await?;
//! let mut tx = store.begin().await?;
//! // ... writes, then the audit entry ...
//! tx.commit().await?;
//! # Ok(()) }
//! ```

mod audit;
mod error;
mod evidence;
mod inventory;
mod keys;
mod row;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Executor};

pub use error::Error;
/// A connection on either backend; every query function takes one.
pub use sqlx::AnyConnection as Conn;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Whether [`Store::open`] may create a missing SQLite file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    CreateIfMissing,
    MustExist,
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A connection pool on one backend, migrated to the current schema.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The connection URL (with its password): bulk reads open their own connection.
    url: std::sync::Arc<str>,
}

/// A writing transaction holding the audit head lock.
pub type Tx = sqlx::Transaction<'static, Any>;

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`) and applies migrations.
    pub async fn open(url: &str, open: Open) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::Url(redact_url(url)));
        };
        let mut url = url.to_owned();
        if backend == Backend::Sqlite {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or_default().to_owned();
            match open {
                Open::CreateIfMissing => {
                    url = format!("sqlite://{path}?mode=rwc");
                }
                Open::MustExist => {
                    if !std::path::Path::new(&path).exists() {
                        return Err(Error::NotInitialised(path));
                    }
                    url = format!("sqlite://{path}?mode=rw");
                }
            }
        }
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| Error::connect(&url, &e))?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(2));
        // One connection first, so a wrong URL or a file that is not a database fails
        // at once with its own error instead of after the pool's acquire timeout.
        let mut probe = sqlx::AnyConnection::connect_with(&options)
            .await
            .map_err(|e| Error::connect(&url, &e))?;
        // Reading the schema is what fails on a file that is not a database.
        let probe_sql = match backend {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master",
            Backend::Postgres => "SELECT 1",
        };
        sqlx::query(probe_sql)
            .execute(&mut probe)
            .await
            .map_err(|e| Error::connect(&url, &e))?;
        probe.close().await.ok();
        let max = if backend == Backend::Sqlite { 4 } else { 16 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL for concurrent readers; FULL so a commit survives power loss;
                        // a busy timeout so concurrent writers wait instead of failing.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                        // Proofs read tree nodes at random: keep them in memory (a 32 MiB
                        // page cache per connection, and the file memory-mapped).
                        conn.execute("PRAGMA cache_size = -32768").await?;
                        conn.execute("PRAGMA mmap_size = 1073741824").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| Error::connect(&url, &e))?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            url: url.into(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for reads.
    pub async fn conn(&self) -> Result<PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// Starts a writing transaction. Its first statement locks the audit head row, so
    /// writers queue here (SQLite's write lock, PostgreSQL's row lock) and every later
    /// read in the transaction sees the latest committed state.
    pub async fn begin(&self) -> Result<Tx> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE audit_head SET size = size WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Starts a read-only transaction that sees one consistent snapshot (SQLite's WAL
    /// read snapshot; PostgreSQL's REPEATABLE READ), for reads that must agree with
    /// each other, such as verifying the whole audit log while writers go on.
    pub async fn begin_read(&self) -> Result<Tx> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Runs a quick integrity check: the schema is present and the audit head exists.
    pub async fn check(&self) -> Result<()> {
        let mut c = self.conn().await?;
        ping(&mut c).await
    }
}

async fn ping(c: &mut AnyConnection) -> Result<()> {
    c.ping().await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_head")
        .fetch_one(&mut *c)
        .await?;
    if n != 1 {
        return Err(Error::Corrupt("the audit head row is missing".into()));
    }
    Ok(())
}

/// The `VALUES` list of a multi-row INSERT: `rows` tuples of `cols` parameters. SQLite
/// gets anonymous `?` parameters (its driver looks numbered ones up by name, which is
/// quadratic in a statement's parameters), PostgreSQL numbered ones; both bind in order.
pub(crate) fn values(c: &sqlx::AnyConnection, rows: usize, cols: usize) -> String {
    let numbered = c.backend_name().eq_ignore_ascii_case("PostgreSQL");
    let mut s = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for col in 0..cols {
            if col > 0 {
                s.push(',');
            }
            if numbered {
                s.push_str(&format!("${}", r * cols + col + 1));
            } else {
                s.push('?');
            }
        }
        s.push(')');
    }
    s
}

/// The file path of a `sqlite://PATH?…` URL.
pub(crate) fn sqlite_path(url: &str) -> &str {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    rest.split('?').next().unwrap_or(rest)
}

/// A database URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some(s) = url.find("://") else {
        return url.to_owned();
    };
    // The authority ends at the first `/`, `?` or `#` after the scheme; the password
    // may itself contain `@`, so the credentials end at the last `@` before that.
    let rest = &url[s + 3..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:[redacted]{}", &url[..s + 3], &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

pub use audit::*;
pub use evidence::*;
pub use inventory::*;
pub use keys::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://moat:s3cret@db:5432/moat"),
            "postgres://moat:[redacted]@db:5432/moat"
        );
        assert_eq!(redact_url("postgres://db/moat"), "postgres://db/moat");
        assert_eq!(
            redact_url("postgres://u:p@ss@host/db"),
            "postgres://u:[redacted]@host/db"
        );
        assert_eq!(
            redact_url("postgres://u@host/db?x=a@b"),
            "postgres://u@host/db?x=a@b"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
