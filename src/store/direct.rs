//! The two reads every authenticated request makes on SQLite (the session
//! and the access token lookups), run on the calling thread with SQLite's
//! own API instead of through sqlx.
//!
//! sqlx gives each SQLite connection a worker thread and hands it every query
//! over channels: two thread wake-ups and tens of thousands of instructions
//! for an indexed lookup that SQLite itself answers in a few microseconds.
//! Measured against the pool alone (issue 12, `bench/README.md`): a session
//! request 84,000 instructions instead of 109,000, a bearer request 68,000
//! instead of 95,000 (`bench/callgrind.sh`), and at load the session row
//! 0.69 to 0.74 of the heartbeat instead of 0.40, the bearer row 0.77 to
//! 0.85 instead of 0.40 (`bench/run.sh`).
//!
//! What this keeps: every lookup reads the database, there is no cache. Each
//! statement runs in its own read transaction, which in WAL mode sees every
//! transaction committed before it started, from this process or another, so
//! a session ended anywhere is refused on the next request. The connections
//! are `query_only` and never wait for a lock: if SQLite is busy (or anything
//! else fails) the caller falls back to the sqlx path, which waits as before;
//! the store counts each fallback and logs it as a warning.
//! Columns are read by name, never by position.
//! A lookup blocks the async worker for its duration, a few microseconds for
//! an indexed row in the page cache.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use rusqlite::types::Type;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row};

use super::{AccessTokenRow, User};
use crate::access::Role;

/// Read connections kept open (two async workers on this project's
/// machines; a few more for other threads).
const READERS: usize = 4;
/// SQLite's page cache per connection, in KiB (two indexed tables).
const CACHE_KIB: i64 = 1024;

/// Read connections to one SQLite file, opened on demand, one per slot.
/// Each thread starts at its own slot and takes the first one free without
/// waiting, so the async workers do not contend for a shared lock.
pub struct DirectReads {
    path: PathBuf,
    readers: [Mutex<Option<Connection>>; READERS],
    /// Where each lookup's columns sit, found by name on its first row.
    session_columns: OnceLock<Columns>,
    token_columns: OnceLock<Columns>,
}

impl std::fmt::Debug for DirectReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectReads")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl DirectReads {
    /// For a database file (not an in-memory one, which other connections
    /// cannot see).
    pub fn new(path: &Path, in_memory: bool) -> Option<Self> {
        let name = path.to_string_lossy();
        if in_memory || name.is_empty() || name == ":memory:" {
            return None;
        }
        Some(Self {
            path: path.to_path_buf(),
            readers: Default::default(),
            session_columns: OnceLock::new(),
            token_columns: OnceLock::new(),
        })
    }

    pub fn find_session(&self, token_hash: &str, now: i64) -> rusqlite::Result<Option<User>> {
        let sql = super::credential_queries::SELECT_SESSION;
        self.query(sql, &self.session_columns, token_hash, now, user)
    }

    pub fn find_access_token(&self, token_hash: &str, now: i64) -> rusqlite::Result<Option<AccessTokenRow>> {
        let sql = super::credential_queries::SELECT_ACCESS_TOKEN;
        self.query(sql, &self.token_columns, token_hash, now, access_token)
    }

    /// Runs `sql` (a lookup by token hash and time) on a free reader; SQLite
    /// busy if every reader is in use. `columns` holds where `sql`'s columns
    /// sit, found by name once.
    fn query<T>(
        &self,
        sql: &str,
        columns: &OnceLock<Columns>,
        token_hash: &str,
        now: i64,
        map: impl FnOnce(&Row<'_>, &Columns) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Option<T>> {
        let first = thread_slot();
        let free = (0..READERS).find_map(|i| self.readers.get((first + i) % READERS)?.try_lock().ok());
        let Some(mut reader) = free else {
            return Err(busy());
        };
        if reader.is_none() {
            *reader = Some(self.open()?);
        }
        let Some(conn) = reader.as_mut() else {
            return Err(busy());
        };
        let mut statement = conn.prepare_cached(sql)?;
        let found = match columns.get() {
            Some(found) => *found,
            None => *columns.get_or_init(|| Columns::find(&statement)),
        };
        let mut rows = statement.query((token_hash, now))?;
        match rows.next()? {
            Some(row) => Ok(Some(map(row, &found)?)),
            None => Ok(None),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(Duration::ZERO)?;
        conn.pragma_update(None, "query_only", true)?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        Ok(conn)
    }
}

/// This thread's first choice of reader, handed out in turn.
fn thread_slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: Cell<Option<usize>> = const { Cell::new(None) };
    }
    SLOT.with(|slot| match slot.get() {
        Some(chosen) => chosen,
        None => {
            let chosen = NEXT.fetch_add(1, Ordering::Relaxed) % READERS;
            slot.set(Some(chosen));
            chosen
        }
    })
}

fn busy() -> rusqlite::Error {
    let code = rusqlite::ffi::Error {
        code: ErrorCode::DatabaseBusy,
        extended_code: rusqlite::ffi::SQLITE_BUSY,
    };
    rusqlite::Error::SqliteFailure(code, Some("every direct reader is in use".into()))
}

/// Where a lookup's columns sit, by name (`user_columns_u!`, then `scopes`
/// for a token): rusqlite finds a name by scanning the statement's column
/// names for every field of every row (about 6,000 instructions a
/// request), so the positions are found once per statement. A name the
/// statement lacks is `None`, and reading it fails like an unknown name.
#[derive(Debug, Clone, Copy)]
struct Columns([Option<usize>; 10]);

const COLUMN_NAMES: [&str; 10] = [
    "id",
    "username",
    "email",
    "role",
    "enabled",
    "created_at",
    "updated_at",
    "last_login_at",
    "last_active_at",
    "scopes",
];

impl Columns {
    fn find(statement: &rusqlite::Statement<'_>) -> Self {
        Columns(COLUMN_NAMES.map(|name| statement.column_index(name).ok()))
    }

    /// The position of `name` (one of `COLUMN_NAMES`).
    fn of(&self, name: &str) -> rusqlite::Result<usize> {
        COLUMN_NAMES
            .iter()
            .position(|known| *known == name)
            .and_then(|i| self.0.get(i).copied().flatten())
            .ok_or_else(|| rusqlite::Error::InvalidColumnName(name.to_string()))
    }
}

fn access_token(row: &Row<'_>, columns: &Columns) -> rusqlite::Result<AccessTokenRow> {
    Ok(AccessTokenRow {
        user: user(row, columns)?,
        scopes: row.get(columns.of("scopes")?)?,
    })
}

/// The user columns (`user_columns_u!`), read by name: a query may add or
/// reorder columns without shifting what each field reads.
fn user(row: &Row<'_>, columns: &Columns) -> rusqlite::Result<User> {
    let at = |name| columns.of(name);
    let role = row.get_ref(at("role")?)?.as_str()?;
    let role = Role::parse(role).ok_or_else(|| {
        let index = at("role").unwrap_or_default();
        rusqlite::Error::FromSqlConversionFailure(index, Type::Text, format!("unknown role '{role}'").into())
    })?;
    Ok(User {
        id: row.get(at("id")?)?,
        username: row.get(at("username")?)?,
        email: row.get(at("email")?)?,
        role,
        enabled: row.get(at("enabled")?)?,
        created_at: row.get(at("created_at")?)?,
        updated_at: row.get(at("updated_at")?)?,
        last_login_at: row.get(at("last_login_at")?)?,
        last_active_at: row.get(at("last_active_at")?)?,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::{NewAccessToken, NewSession, NewUser, Pool, Store, StoreError};
    use super::*;
    use crate::config::DatabaseUrl;

    async fn store_with_credentials(dir: &Path) -> (Store, i64) {
        let url = DatabaseUrl::new(format!("sqlite://{}", dir.join("t.db").display()));
        let store = Store::open(&url).await.expect("store");
        let new_user = NewUser {
            username: "alice".into(),
            email: Some("alice@example.test".into()),
            email_trusted: true,
            password_hash: None,
            role: Role::Editor,
            enabled: true,
        };
        let user = store.insert_user(&new_user, 100).await.expect("user");
        let session = NewSession {
            token_hash: "s1",
            user_id: user.id,
            now: 100,
            expires_at: 1000,
            oidc_issuer: Some("https://idp.example"),
            oidc_subject: Some("sub"),
            oidc_sid: None,
            id_token: Some("id.token.here"),
            authenticated_at: None,
            password_hash: None,
        };
        store.insert_session(&session).await.expect("session");
        let token = NewAccessToken {
            token_hash: "a1",
            family_id: "f1",
            user_id: user.id,
            scopes: "me.read",
            now: 100,
            expires_at: 1000,
        };
        store.insert_access_token(&token).await.expect("token");
        (store, user.id)
    }

    /// The same query through sqlx, for comparison.
    async fn by_pool<T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin>(
        store: &Store,
        sql: &str,
        hash: &str,
        now: i64,
    ) -> Result<Option<T>, StoreError> {
        let Pool::Sqlite(p) = &store.pool else {
            panic!("SQLite expected")
        };
        Ok(sqlx::query_as(sql).bind(hash).bind(now).fetch_optional(p).await?)
    }

    #[tokio::test]
    async fn direct_reads_answer_what_sqlx_answers_and_see_every_change_at_once() {
        let dir = tempfile::tempdir().expect("dir");
        let (store, user_id) = store_with_credentials(dir.path()).await;
        let direct = store.direct.clone().expect("a SQLite file gets direct reads");
        let sessions = super::super::credential_queries::SELECT_SESSION;
        let tokens = super::super::credential_queries::SELECT_ACCESS_TOKEN;
        for (hash, now) in [("s1", 500), ("s1", 1000), ("nope", 500)] {
            let pooled: Option<User> = by_pool(&store, sessions, hash, now).await.expect("sqlx");
            let direct_row = direct.find_session(hash, now).expect("direct");
            assert_eq!(format!("{direct_row:?}"), format!("{pooled:?}"));
        }
        for (hash, now) in [("a1", 500), ("a1", 1000), ("s1", 500)] {
            let pooled: Option<AccessTokenRow> = by_pool(&store, tokens, hash, now).await.expect("sqlx");
            let direct_row = direct.find_access_token(hash, now).expect("direct");
            assert_eq!(format!("{direct_row:?}"), format!("{pooled:?}"));
        }
        assert!(direct.find_session("s1", 500).expect("direct").is_some());

        // Writes through the pool are seen by the very next direct read.
        let promote = super::super::UserChanges {
            role: Some(Role::Admin),
            ..Default::default()
        };
        store.update_user(user_id, &promote, 200).await.expect("update");
        let row = direct.find_session("s1", 500).expect("direct").expect("still there");
        assert_eq!(row.role, Role::Admin);
        store.delete_session("s1").await.expect("delete");
        assert!(direct.find_session("s1", 500).expect("direct").is_none());
        assert!(store.end_access_token_family("a1").await.expect("delete"));
        assert!(direct.find_access_token("a1", 500).expect("direct").is_none());
    }

    #[tokio::test]
    async fn columns_are_read_by_name_whatever_their_order() {
        let dir = tempfile::tempdir().expect("dir");
        let (store, _) = store_with_credentials(dir.path()).await;
        let direct = store.direct.clone().expect("a SQLite file gets direct reads");
        const REORDERED: &str = "SELECT t.scopes, u.last_active_at, u.last_login_at, u.updated_at, \
            u.created_at, u.enabled, u.role, u.email, u.username, u.id \
            FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.expires_at > $2";
        let reordered = direct
            .query(REORDERED, &OnceLock::new(), "a1", 500, access_token)
            .expect("direct");
        let usual = direct.find_access_token("a1", 500).expect("direct");
        assert!(usual.is_some());
        assert_eq!(format!("{reordered:?}"), format!("{usual:?}"));
    }

    /// A log writer the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn with_every_reader_in_use_the_pool_answers_and_the_fallback_is_counted_and_warned() {
        let dir = tempfile::tempdir().expect("dir");
        let (store, user_id) = store_with_credentials(dir.path()).await;
        let direct = store.direct.clone().expect("a SQLite file gets direct reads");
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _logging = tracing::subscriber::set_default(subscriber);
        assert!(store.find_session("s1", 500).await.expect("direct").is_some());
        assert_eq!(store.credential_fallbacks(), 0);
        {
            let _held: Vec<_> = direct.readers.iter().map(|r| r.lock().expect("lock")).collect();
            let err = direct.find_session("s1", 500).expect_err("no reader free");
            assert_eq!(err.sqlite_error_code(), Some(ErrorCode::DatabaseBusy));
            let user = store.find_session("s1", 500).await.expect("pool").expect("found");
            assert_eq!(user.id, user_id);
        }
        assert_eq!(store.credential_fallbacks(), 1);
        let logged = String::from_utf8(log.0.lock().expect("log buffer").clone()).expect("utf-8");
        let warning = logged.lines().find(|line| line.contains("answered through the pool"));
        assert!(warning.is_some_and(|line| line.contains("WARN")), "{logged}");
        assert!(direct.find_session("s1", 500).expect("a reader is free").is_some());
        assert_eq!(store.credential_fallbacks(), 1);
    }

    /// `.cargo/config.toml` builds the bundled SQLite without the options
    /// that put a process-wide mutex on every page fetch and allocation.
    #[test]
    fn bundled_sqlite_has_no_global_page_cache_or_memory_statistics() {
        let conn = Connection::open_in_memory().expect("open");
        let mut statement = conn.prepare("PRAGMA compile_options").expect("prepare");
        let options: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(options.iter().any(|o| o == "THREADSAFE=1"), "{options:?}");
        assert!(options.iter().all(|o| o != "ENABLE_MEMORY_MANAGEMENT"), "{options:?}");
        assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
    }

    #[tokio::test]
    async fn in_memory_databases_get_no_direct_reads() {
        let store = Store::open(&DatabaseUrl::new("sqlite::memory:")).await.expect("store");
        assert!(store.direct.is_none());
    }
}
