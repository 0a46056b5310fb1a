//! The two reads every authenticated request makes on PostgreSQL (the
//! session and the access token lookups), coalesced: lookups that arrive
//! while earlier ones are being answered wait for the next query, which
//! answers all of them in one round trip (`token_hash = ANY($1)`).
//!
//! One query per request costs PostgreSQL a round trip, a statement
//! execution and a backend wake-up each: on a busy server that per-query
//! work, not the indexed lookup itself, is most of the cost. Batching
//! shares it among every request waiting at that moment, and adds no wait
//! of its own: an idle server answers a lone lookup at once.
//!
//! What this keeps: there is no cache. Every lookup is answered by a query
//! that starts after the lookup was made, so it sees every commit that came
//! before the request, from this instance or another: a session ended
//! anywhere is refused on the next request. The queue is bounded (`QUEUE`):
//! when it is full, when a batch fails, or when the batching task is gone,
//! each lookup runs its own query through the pool, and the store counts
//! and logs that fallback as a warning. Columns are read by name.
//!
//! Each batch takes a connection from the pool and gives it back, like any
//! other query. Issue 12 measured keeping the batcher's connections outside
//! the pool instead: 6% to 19% more on the authenticated rows, on the 15%
//! that extra machinery must earn rather than clearly over it, so the
//! simpler way stays. Against one query per lookup through the pool, with
//! 50 clients on 2 cores, batches take the session and bearer rows from
//! 0.30 to 0.53 of the heartbeat (`bench/README.md`).

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool, Row};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Lookups answered by one query at most.
const MAX_BATCH: usize = 64;
/// Batch queries in flight at once (each holds one pooled connection). Two,
/// so one slow query does not hold up every request; more splits the
/// waiting lookups into smaller batches, which on a loaded server cost more
/// in all (wrk with 50 connections on 2 cores: 2 batches 31,000-35,000
/// authenticated requests/s, 4 batches 21,000-25,000, 8 batches 16,000).
const CONCURRENT_BATCHES: usize = 2;

/// A found row with the columns that matched it to its lookup.
struct Hit<T> {
    token_hash: String,
    expires_at: i64,
    found: T,
}

impl<'r, T: FromRow<'r, PgRow>> FromRow<'r, PgRow> for Hit<T> {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Hit {
            token_hash: row.try_get("token_hash")?,
            expires_at: row.try_get("expires_at")?,
            found: T::from_row(row)?,
        })
    }
}

/// Lookups waiting for a batch at most. With more waiting PostgreSQL is
/// behind; a further lookup is answered through the pool (whose own wait
/// and timeout then apply) instead of queueing without bound.
const QUEUE: usize = 512;

/// Why the batch could not answer: the caller runs its own query.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotBatched {
    #[error("{QUEUE} lookups already wait for a batch")]
    QueueFull,
    #[error("the batching task has ended")]
    Gone,
    #[error("the batch query failed")]
    Failed,
    /// The database is unreachable: a query of its own would only wait
    /// for the same outage again.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

struct Lookup<T> {
    token_hash: String,
    now: i64,
    reply: oneshot::Sender<Result<Option<T>, NotBatched>>,
}

/// Lookups of one kind of row by token hash, answered in batches by `sql`,
/// which selects `token_hash`, `expires_at` and the columns of `T` for the
/// hashes in `$1` (expiry is checked here, against each lookup's time).
pub struct Batched<T> {
    queue: mpsc::Sender<Lookup<T>>,
}

impl<T> std::fmt::Debug for Batched<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batched").finish_non_exhaustive()
    }
}

impl<T> Batched<T>
where
    T: for<'r> FromRow<'r, PgRow> + Clone + Send + Unpin + 'static,
{
    /// Starts the batching task; it ends when the last handle is dropped.
    pub fn start(pool: PgPool, sql: &'static str) -> Self {
        let (queue, lookups) = mpsc::channel(QUEUE);
        tokio::spawn(run_batches(pool, sql, lookups));
        Self { queue }
    }

    /// The unexpired row for `token_hash` at `now`.
    pub async fn find(&self, token_hash: &str, now: i64) -> Result<Option<T>, NotBatched> {
        let (reply, answer) = oneshot::channel();
        let lookup = Lookup {
            token_hash: token_hash.to_string(),
            now,
            reply,
        };
        self.queue.try_send(lookup).map_err(|err| match err {
            TrySendError::Full(_) => NotBatched::QueueFull,
            TrySendError::Closed(_) => NotBatched::Gone,
        })?;
        answer.await.map_err(|_| NotBatched::Gone)?
    }
}

/// Takes every lookup waiting once a batch slot is free, and answers them
/// with one query on a pooled connection.
async fn run_batches<T>(pool: PgPool, sql: &'static str, mut lookups: mpsc::Receiver<Lookup<T>>)
where
    T: for<'r> FromRow<'r, PgRow> + Clone + Send + Unpin + 'static,
{
    let slots = Arc::new(Semaphore::new(CONCURRENT_BATCHES));
    while let Some(first) = lookups.recv().await {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match lookups.try_recv() {
                Ok(lookup) => batch.push(lookup),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            answer_batch(&pool, sql, batch).await;
            drop(slot);
        });
    }
}

/// Answers every lookup of `batch` with one query.
async fn answer_batch<T>(pool: &PgPool, sql: &'static str, batch: Vec<Lookup<T>>)
where
    T: for<'r> FromRow<'r, PgRow> + Clone + Send + Unpin + 'static,
{
    let hashes: Vec<&str> = batch.iter().map(|lookup| lookup.token_hash.as_str()).collect();
    let rows: Result<Vec<Hit<T>>, sqlx::Error> = sqlx::query_as(sql).bind(&hashes).fetch_all(pool).await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(err) => return refuse_batch(batch, &err),
    };
    let by_hash: HashMap<&str, &Hit<T>> = rows.iter().map(|hit| (hit.token_hash.as_str(), hit)).collect();
    for lookup in batch {
        let found = by_hash
            .get(lookup.token_hash.as_str())
            .filter(|hit| hit.expires_at > lookup.now)
            .map(|hit| hit.found.clone());
        // The caller may have gone (its request was cancelled).
        let _ = lookup.reply.send(Ok(found));
    }
}

/// Sends every lookup of a failed batch back to run its own query (each
/// is counted and logged by the store as it falls back).
fn refuse_batch<T>(batch: Vec<Lookup<T>>, err: &sqlx::Error) {
    let why = if super::unavailable(err) {
        tracing::warn!(error = %err, lookups = batch.len(), "batched credential lookup failed: the database is unavailable");
        NotBatched::Unavailable(err.to_string())
    } else {
        tracing::warn!(error = %err, lookups = batch.len(), "batched credential lookup failed; each runs its own query");
        NotBatched::Failed
    };
    for lookup in batch {
        let _ = lookup.reply.send(Err(why.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::credentials::BatchedLookups;
    use super::super::{AccessTokenRow, NewSession, NewUser, Store, User};
    use super::*;
    use crate::access::Role;
    use crate::config::DatabaseUrl;

    fn waiting<T>(token_hash: &str) -> Lookup<T> {
        Lookup {
            token_hash: token_hash.into(),
            now: 0,
            reply: oneshot::channel().0,
        }
    }

    /// A batcher whose queue is full and never drained (while the returned
    /// receiver lives).
    fn full_queue<T>() -> (Batched<T>, mpsc::Receiver<Lookup<T>>) {
        let (queue, unanswered) = mpsc::channel(QUEUE);
        for n in 0..QUEUE {
            queue.try_send(waiting(&n.to_string())).expect("room in the queue");
        }
        (Batched { queue }, unanswered)
    }

    #[tokio::test]
    async fn a_full_queue_refuses_a_lookup_at_once_instead_of_growing() {
        let (batched, _unanswered) = full_queue::<(i64,)>();
        let refused = batched.find("one more", 0).await;
        assert!(matches!(refused, Err(NotBatched::QueueFull)), "{refused:?}");
    }

    #[tokio::test]
    async fn without_the_batching_task_a_lookup_is_refused() {
        let (queue, lookups) = mpsc::channel(QUEUE);
        drop(lookups);
        let batched: Batched<(i64,)> = Batched { queue };
        assert!(matches!(batched.find("h", 0).await, Err(NotBatched::Gone)));
    }

    #[tokio::test]
    #[ignore = "PostgreSQL: needs TEST_DATABASE_URL, run with --ignored"]
    async fn with_the_queue_full_the_pool_answers_and_the_fallback_is_counted() {
        let url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
        let schema = format!("batched_full_{}", std::process::id());
        let mut store = Store::open_postgres_schema(&DatabaseUrl::new(url), &schema)
            .await
            .expect("store");
        let new_user = NewUser {
            username: "alice".into(),
            email: None,
            email_trusted: false,
            password_hash: None,
            role: Role::Viewer,
            enabled: true,
        };
        let user = store.insert_user(&new_user, 100).await.expect("user");
        let session = NewSession {
            token_hash: "s1",
            user_id: user.id,
            now: 100,
            expires_at: 1000,
            oidc_issuer: None,
            oidc_subject: None,
            oidc_sid: None,
            id_token: None,
            authenticated_at: None,
            password_hash: None,
        };
        store.insert_session(&session).await.expect("session");
        assert!(store.find_session("s1", 500).await.expect("batched").is_some());
        assert_eq!(store.credential_fallbacks(), 0);

        let (sessions, _sessions_waiting) = full_queue::<User>();
        let (tokens, _tokens_waiting) = full_queue::<AccessTokenRow>();
        store.batched = Some(Arc::new(BatchedLookups::from_parts(sessions, tokens)));
        let found = store.find_session("s1", 500).await.expect("pool").expect("found");
        assert_eq!(found.id, user.id);
        assert!(store.find_access_token("none", 500).await.expect("pool").is_none());
        assert_eq!(store.credential_fallbacks(), 2);
    }
}
