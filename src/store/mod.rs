//! Database access. One code path for two engines: every query is written
//! once, in the SQL both SQLite and PostgreSQL understand (`$n` placeholders,
//! `RETURNING`, `ON CONFLICT`, integer ids and unix-second times), and
//! `on_pool!` runs the same text on whichever pool is configured. Each engine
//! has its own migration folder with matching version numbers.
//!
//! Why not sqlx's `Any` driver: it has gaps with booleans and typed decoding,
//! and a per-engine enum keeps full type checking for both.
//!
//! Every piece of auth state lives here, never only in process memory, so any
//! number of instances can share one PostgreSQL.

mod batched;
mod chunked_uploads;
mod client_pairing;
mod client_tokens;
mod credential_queries;
mod credentials;
mod device_flows;
mod devices;
mod direct;
mod download_links;
pub mod files;
mod health;
pub use health::{PoolUsage, Schema};
pub mod backup;
mod library;
mod oidc;
mod rate_limits;
mod rom_listing;
pub use rate_limits::Window;
mod server_secrets;
pub use server_secrets::SharedSecret;
mod sessions;
pub use sessions::SessionRow;
mod token_pairs;
mod users;

pub use chunked_uploads::{ChunkedUpload, NewChunkedUpload};
pub use client_pairing::PairingClaim;
pub use client_tokens::{ClientToken, ClientTokenAuth, ClientTokenWithOwner, Minter, NewClientToken};
pub use credentials::{AccessTokenRow, EndedSession, NewAccessToken, NewRefreshToken, NewSession, RefreshClaim};
pub use device_flows::{Approval, ApprovedFlow, DeviceApprovalRow, DeviceFlow, IssuedDeviceToken, NewDeviceFlow};
pub use devices::{Device, NewDevice};
pub use download_links::DownloadLinkRow;
pub use library::{Platform, Rom, RomFingerprint, RomUpsert};
pub use oidc::{IdentityLink, LinkOutcome, LoginAttempt, NewLoginAttempt};
pub use rom_listing::{LibraryTotals, RomFilter, RomOrder, RomSort};
pub use users::{NewUser, User, UserChanges, UserWithHash, UserWithTrust, fold};

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, SqlitePool};

use crate::config::DatabaseUrl;

/// The schema, per engine, with matching version numbers.
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("src/store/migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("src/store/migrations/postgres");

/// Runs `$body` with `$p` bound to the concrete pool, once per engine.
macro_rules! on_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The handle every flow receives. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// On a SQLite file: the per-request credential lookups, on the calling
    /// thread (see `direct`).
    direct: Option<Arc<direct::DirectReads>>,
    /// On PostgreSQL: the same lookups, coalesced (see `batched`).
    batched: Option<Arc<credentials::BatchedLookups>>,
    /// Lookups the fast path above could not answer (see `find_credential`).
    fallbacks: Arc<credentials::Fallbacks>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; which one, as far as a
    /// caller can act on it.
    #[error("a row with the same unique value already exists ({0:?})")]
    Conflict(Unique),
    /// A sign-in by password was about to write its session or tokens, but
    /// the account's password changed after it was checked: nothing was
    /// written.
    #[error("the password changed while the sign-in was checking it")]
    PasswordChanged,
    /// A single sign-on was about to write its session, but the account
    /// was disabled (or deleted) after it was checked: nothing was written.
    #[error("the account was disabled while the sign-in was checking it")]
    AccountDisabled,
    /// A client token (or device approval) was about to be written, but
    /// the credential whose request makes it (a client token, an access
    /// token's family) or its owner was ended after the request was
    /// authenticated: nothing was written (see `Minter`).
    #[error("the credential making this was ended while the request ran")]
    MinterEnded,
    /// The change would leave no enabled administrator.
    #[error("the change would leave no enabled administrator")]
    LastAdmin,
    /// The database could not be reached or is shutting down: the request
    /// may succeed in a moment (503, not 500).
    /// (The cause in words: a batch's one failure answers many lookups.)
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The disk under the database is full: nothing was written, and writes
    /// work again once space is freed (503, not 500).
    #[error("the database's storage is full: {0}")]
    Full(String),
    /// The database refused a value itself, not the query: text with a NUL
    /// (PostgreSQL), or a value too long for an index. Whoever sent it sent
    /// bad input (400, not 500); nothing was written.
    #[error("the database cannot store a value: {0}")]
    Unstorable(String),
    /// A foreign key refused the write: a row it refers to (a ROM, a
    /// platform, an account) was deleted by another request meanwhile.
    /// Nothing was written; 404, as the next attempt would be answered.
    #[error("a row the write refers to was deleted meanwhile: {0}")]
    Vanished(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    /// Tells an unreachable database apart from a failed query.
    fn from(err: sqlx::Error) -> Self {
        if unavailable(&err) {
            StoreError::Unavailable(err.to_string())
        } else if storage_full(&err) {
            StoreError::Full(err.to_string())
        } else if unstorable(&err) {
            StoreError::Unstorable(err.to_string())
        } else if matches!(&err, sqlx::Error::Database(db) if db.is_foreign_key_violation()) {
            StoreError::Vanished(err.to_string())
        } else {
            StoreError::Database(err)
        }
    }
}

/// Whether `err` says the database cannot be used right now, rather than
/// that this query is wrong: no connection within the acquire timeout, a
/// broken or refused connection, or PostgreSQL shutting down or starting
/// (SQLSTATE class 08, and 57P01..57P03).
pub(crate) fn unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

/// SQLite's result code for a full disk (SQLITE_FULL; its extended codes
/// keep it in the low byte).
const SQLITE_FULL: i64 = 13;
/// PostgreSQL's SQLSTATE `disk_full`.
const PG_DISK_FULL: &str = "53100";

/// Whether `err` says the database's disk is full: SQLite answers
/// SQLITE_FULL when a write to its file or its WAL fails with ENOSPC,
/// PostgreSQL `53100`. The write was rolled back; nothing is half-written.
pub(crate) fn storage_full(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.as_ref() == PG_DISK_FULL || code.parse::<i64>().is_ok_and(|n| n & 0xff == SQLITE_FULL)
        }),
        sqlx::Error::Io(io) => io.kind() == std::io::ErrorKind::StorageFull,
        _ => false,
    }
}

/// PostgreSQL's SQLSTATEs for a value it cannot hold: a NUL or a character
/// the encoding lacks (`22021`, `22P05`), a string longer than its column
/// (`22001`), an index entry over its limit of about 2.7 kB (`54000`).
const PG_UNSTORABLE: [&str; 4] = ["22021", "22P05", "22001", "54000"];

/// Whether `err` refuses a value rather than the query or the database.
pub(crate) fn unstorable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| PG_UNSTORABLE.contains(&code.as_ref())),
        _ => false,
    }
}

impl StoreError {
    /// Maps unique violations to `Conflict`, the rest as `From` does.
    fn from_write(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(Unique::of(db.as_ref())),
            _ => StoreError::from(err),
        }
    }
}

/// The unique value a refused write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    /// `users.username_key`: another account has this username.
    Username,
    /// `users.email_key`: another account has this email.
    Email,
    /// Any other key (an identity link, a token hash).
    Other,
}

impl Unique {
    /// Each engine names the constraint its own way: PostgreSQL reports the
    /// constraint (named after table and column, as the migrations leave it
    /// to the engine), SQLite only a message naming the column.
    fn of(db: &dyn sqlx::error::DatabaseError) -> Self {
        let column = match db.constraint() {
            Some("users_username_key_key") => "users.username_key",
            Some("users_email_key_key") => "users.email_key",
            Some(_) => return Unique::Other,
            None => db
                .message()
                .strip_prefix("UNIQUE constraint failed: ")
                .unwrap_or_default(),
        };
        match column {
            "users.username_key" => Unique::Username,
            "users.email_key" => Unique::Email,
            _ => Unique::Other,
        }
    }
}

impl Store {
    /// Connects to the configured database and brings its schema up to date.
    /// Migrations are safe to run from several instances at once: sqlx takes
    /// an advisory lock on PostgreSQL, and SQLite serialises writers.
    pub async fn open(url: &DatabaseUrl) -> Result<Self, StoreError> {
        let store = if url.is_postgres() {
            let options = PgConnectOptions::from_str(url.expose())?;
            Store::postgres(pg_pool(options).await?)
        } else {
            let options = SqliteConnectOptions::from_str(url.expose())?;
            let in_memory = url.expose().contains(":memory:") || url.expose().contains("mode=memory");
            let path = options.get_filename().to_path_buf();
            if !in_memory {
                files::prepare_database_file(&path);
            }
            let pool = Pool::Sqlite(sqlite_pool(options).await?);
            // The file exists now (the pool created it).
            let direct = direct::DirectReads::new(&path, in_memory || !path.is_file()).map(Arc::new);
            Store {
                pool,
                direct,
                batched: None,
                fallbacks: Arc::default(),
            }
        };
        store.migrate().await?;
        Ok(store)
    }

    /// For tests: a PostgreSQL store confined to one schema.
    pub async fn open_postgres_schema(url: &DatabaseUrl, schema: &str) -> Result<Self, StoreError> {
        let admin = PgPool::connect(url.expose()).await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .execute(&admin)
            .await?;
        admin.close().await;
        let options = PgConnectOptions::from_str(url.expose())?.options([("search_path", schema)]);
        let store = Store::postgres(pg_pool(options).await?);
        store.migrate().await?;
        Ok(store)
    }

    fn postgres(pool: PgPool) -> Self {
        Store {
            batched: Some(Arc::new(credentials::BatchedLookups::start(&pool))),
            pool: Pool::Postgres(pool),
            direct: None,
            fallbacks: Arc::default(),
        }
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Pool::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// This binary's migrations for the engine in use.
    fn migrator(&self) -> &'static Migrator {
        match &self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    pub fn engine(&self) -> &'static str {
        match &self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    /// Deletes expired sessions, tokens, login attempts and rate-limit windows.
    pub async fn delete_expired(&self, now: i64) -> Result<(), StoreError> {
        for sql in EXPIRY_CLEANUP {
            on_pool!(self, p => sqlx::query(sql).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        }
        rate_limits::delete_stale(self, now).await
    }
}

/// What `delete_expired` runs, in order, each with the time as `$1`. Every
/// one finds its rows through an index (the tests check), so the cleanup
/// costs what it deletes.
const EXPIRY_CLEANUP: [&str; 11] = [
    "DELETE FROM sessions WHERE expires_at <= $1",
    "DELETE FROM access_tokens WHERE expires_at <= $1",
    "DELETE FROM refresh_tokens WHERE expires_at <= $1",
    "DELETE FROM oidc_login_attempts WHERE expires_at <= $1",
    "DELETE FROM oidc_seen_logout_tokens WHERE expires_at <= $1",
    "DELETE FROM client_pairing_codes WHERE expires_at <= $1",
    "DELETE FROM device_flows WHERE expires_at <= $1",
    "DELETE FROM download_links WHERE expires_at <= $1",
    // Expired client tokens stay listed for a while, as RomM lists
    // them: the owner sees why an app stopped working (and that it
    // still counts towards the 25) instead of the token vanishing.
    // Nothing can sign in with one (the lookup checks expiry);
    // 30 days after expiry it goes, so the table stays bounded.
    // What it made stays: housekeeping is not a revocation (the
    // lineage's cascade would otherwise take live tokens along).
    "UPDATE client_tokens SET minted_by = NULL WHERE minted_by IN \
         (SELECT id FROM client_tokens WHERE expires_at <= $1 - 2592000)",
    "DELETE FROM client_tokens WHERE expires_at <= $1 - 2592000",
    // An approved device sign-in whose device never came for its
    // token leaves a token without a secret: nothing can use it.
    "DELETE FROM client_tokens WHERE token_hash IS NULL AND created_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM device_flows f WHERE f.token_id = client_tokens.id)",
];

/// A pooled PostgreSQL connection idle for longer than this is pinged before
/// it is used, so one the server dropped (a restart, an idle timeout) is
/// replaced instead of failing a request.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);
/// How long a request waits for a PostgreSQL connection.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

async fn pg_pool(options: PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(16)
        // While the server is down every request waits this long for a
        // connection, then gets a 503: short enough that nobody stares at
        // a hung page, long enough to ride out a busy moment.
        .acquire_timeout(PG_ACQUIRE_TIMEOUT)
        // sqlx pings every connection it hands out by default: a second
        // round trip for each query. Under load connections go straight
        // back into use and need no ping.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
}

async fn sqlite_pool(options: SqliteConnectOptions) -> Result<SqlitePool, sqlx::Error> {
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    SqlitePoolOptions::new()
        // A SQLite connection is a file handle in this process: nothing to
        // ping (sqlx would, through the connection's thread, on every query).
        .test_before_acquire(false)
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    fn versions(engine: &str) -> BTreeSet<String> {
        let dir = format!("{}/src/store/migrations/{engine}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_dir(dir)
            .expect("migration folder exists")
            .map(|entry| entry.expect("readable").file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// SQLite's plan for `sql` (with `$1` bound), one line per step.
    async fn plan(pool: &sqlx::SqlitePool, sql: &str) -> Vec<String> {
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
            .bind(0_i64)
            .fetch_all(pool)
            .await
            .expect("explainable");
        rows.into_iter().map(|(_, _, _, detail)| detail).collect()
    }

    async fn migrated_sqlite() -> sqlx::SqlitePool {
        let url = crate::config::DatabaseUrl::new("sqlite::memory:".to_string());
        let store = super::Store::open(&url).await.expect("in-memory store");
        match store.pool {
            super::Pool::Sqlite(pool) => pool,
            super::Pool::Postgres(_) => unreachable!("a SQLite URL"),
        }
    }

    #[tokio::test]
    async fn every_cleanup_statement_finds_its_rows_through_an_index() {
        let pool = migrated_sqlite().await;
        let rate_limits = [
            super::rate_limits::DELETE_STALE_WINDOWS,
            super::rate_limits::DELETE_STALE_KNOWN,
        ];
        for sql in super::EXPIRY_CLEANUP.into_iter().chain(rate_limits) {
            let steps = plan(&pool, sql).await;
            assert!(!steps.is_empty(), "{sql}");
            let scans: Vec<_> = steps.iter().filter(|step| step.starts_with("SCAN ")).collect();
            assert!(scans.is_empty(), "{sql} reads a whole table: {steps:?}");
        }
    }

    #[tokio::test]
    async fn every_cascading_foreign_key_has_an_index_on_its_column() {
        let pool = migrated_sqlite().await;
        let tables: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'")
                .fetch_all(&pool)
                .await
                .expect("tables");
        let mut checked = 0;
        for (table,) in tables {
            let keys: Vec<(String,)> = sqlx::query_as("SELECT \"from\" FROM pragma_foreign_key_list($1)")
                .bind(&table)
                .fetch_all(&pool)
                .await
                .expect("foreign keys");
            let leading: Vec<(String,)> = sqlx::query_as(
                "SELECT i.name FROM pragma_index_list($1) l JOIN pragma_index_info(l.name) i WHERE i.seqno = 0",
            )
            .bind(&table)
            .fetch_all(&pool)
            .await
            .expect("indexes");
            for (column,) in keys {
                let indexed = leading.iter().any(|(first,)| *first == column);
                assert!(indexed, "{table}.{column} references another table but leads no index");
                checked += 1;
            }
        }
        assert!(checked >= 19, "only {checked} foreign keys found");
    }

    #[test]
    fn store_migrations_match() {
        assert_eq!(versions("sqlite"), versions("postgres"));
        assert!(!versions("sqlite").is_empty());
    }
}
