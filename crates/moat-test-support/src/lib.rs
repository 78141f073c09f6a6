//! Test helpers shared by Moat's crates: fresh databases for the storage suite, which
//! runs every test on SQLite and, when `MOAT_TEST_DATABASE_URL` is set, on PostgreSQL
//! too, each PostgreSQL test in a database of its own.
//!
//! ```ignore
//! moat_test_support::store_test!(registers_a_model, |store| {
//!     let mut tx = store.begin().await.unwrap();
//!     // ...
//! });
//! ```

use std::io::Write as _;
use std::sync::Once;

use moat_store::{Open, Store};
use sqlx::{Connection as _, Executor as _};

/// The variable naming the PostgreSQL server the storage suite also runs on; tests
/// create and drop databases on it, so point it at a server for tests.
pub const PG_ENV: &str = "MOAT_TEST_DATABASE_URL";

/// A fresh, migrated database for one test.
pub struct TestDb {
    pub url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

fn random_suffix() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).expect("the OS gives random bytes");
    hex::encode(b)
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("moat.db").display());
        TestDb {
            url,
            pg: None,
            _dir: Some(dir),
        }
    }

    /// A new database on the PostgreSQL server of `MOAT_TEST_DATABASE_URL`, or `None`
    /// (with a notice on stderr, once) when the variable is not set.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin) = std::env::var(PG_ENV) else {
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                // Written past the test harness's capture on purpose: the skip must show.
                let _ = writeln!(
                    std::io::stderr(),
                    "\nNOTE: {PG_ENV} is not set: the PostgreSQL half of the storage suite is SKIPPED \
                     (SQLite only). Set it, e.g. {PG_ENV}=postgres://postgres@127.0.0.1:5432/test\n"
                );
            });
            return None;
        };
        let name = format!("moat_test_{}", random_suffix());
        let mut c = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {PG_ENV}: {e}"));
        c.execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .expect("create test database");
        c.close().await.ok();
        let url = with_database(&admin, &name);
        Some(TestDb {
            url,
            pg: Some((admin, name)),
            _dir: None,
        })
    }

    pub async fn store(&self) -> Store {
        Store::open(&self.url, Open::CreateIfMissing)
            .await
            .expect("open test store")
    }

    /// Closes the store and drops the PostgreSQL database (SQLite files go with the
    /// temp dir). A test that panics before this still drops it, in `Drop`.
    pub async fn cleanup(mut self, store: Store) {
        store.close().await;
        if let Some((admin, name)) = self.pg.take() {
            drop_database(&admin, &name).await;
        }
    }
}

async fn drop_database(admin: &str, name: &str) {
    if let Ok(mut c) = sqlx::PgConnection::connect(admin).await {
        let _ = c
            .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
            .await;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_database(&admin, &name));
                }
            })
            .join();
        }
    }
}

/// `admin` with its database name replaced by `name`.
pub fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Defines one test per backend: `NAME::sqlite` and `NAME::postgres`. The body gets a
/// fresh migrated [`Store`] named by the closure argument.
#[macro_export]
macro_rules! store_test {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports, reason = "a test module may not need its parent's imports")]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let db = $crate::TestDb::sqlite().await;
                let $store = db.store().await;
                $body
                db.cleanup($store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(db) = $crate::TestDb::postgres().await else {
                    return;
                };
                let $store = db.store().await;
                $body
                db.cleanup($store).await;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_database_name() {
        assert_eq!(
            with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
