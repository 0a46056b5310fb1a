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
//! anywhere is refused on the next request. If a batch fails, or the
//! batching task is gone, each lookup runs its own query as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, PgPool, Postgres, Row};
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

/// The batch could not answer: the caller runs its own query.
#[derive(Debug)]
pub struct NotBatched;

struct Lookup<T> {
    token_hash: String,
    now: i64,
    reply: oneshot::Sender<Result<Option<T>, NotBatched>>,
}

/// Lookups of one kind of row by token hash, answered in batches by `sql`,
/// which selects `token_hash`, `expires_at` and the columns of `T` for the
/// hashes in `$1` (expiry is checked here, against each lookup's time).
pub struct Batched<T> {
    queue: mpsc::UnboundedSender<Lookup<T>>,
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
        let (queue, lookups) = mpsc::unbounded_channel();
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
        self.queue.send(lookup).map_err(|_| NotBatched)?;
        answer.await.map_err(|_| NotBatched)?
    }
}

/// Connections kept between batches while lookups keep coming: sqlx pings a
/// connection each time one goes back to the pool, a second round trip per
/// query, so a busy batcher keeps its own. They go back after a quiet
/// second, and at least once a minute so the pool's lifetimes still apply.
struct KeptConnections(Mutex<Kept>);

struct Kept {
    connections: Vec<PoolConnection<Postgres>>,
    /// When they last went back to the pool.
    since: Instant,
}

/// How long lookups may pause before the kept connections go back.
const KEEP_WHILE_BUSY: Duration = Duration::from_secs(1);
/// The longest a connection is kept without going back to the pool.
const KEEP_AT_MOST: Duration = Duration::from_secs(60);

impl KeptConnections {
    fn new() -> Self {
        KeptConnections(Mutex::new(Kept {
            connections: Vec::new(),
            since: Instant::now(),
        }))
    }

    fn take(&self) -> Option<PoolConnection<Postgres>> {
        self.0.lock().ok()?.connections.pop()
    }

    fn keep(&self, conn: PoolConnection<Postgres>) {
        if let Ok(mut kept) = self.0.lock() {
            kept.connections.push(conn);
        }
    }

    /// Hands every kept connection back to the pool.
    fn give_back(&self) {
        self.give_back_if(|_| true);
    }

    /// Hands them back when they last went back a minute ago or more.
    fn give_back_when_due(&self) {
        self.give_back_if(|since| since.elapsed() >= KEEP_AT_MOST);
    }

    fn give_back_if(&self, due: impl FnOnce(Instant) -> bool) {
        let returned = self.0.lock().ok().and_then(|mut kept| {
            if !due(kept.since) {
                return None;
            }
            kept.since = Instant::now();
            Some(std::mem::take(&mut kept.connections))
        });
        // Dropped outside the lock: each goes back through the pool.
        drop(returned);
    }
}

/// Takes every lookup waiting once a batch slot is free, and answers them
/// with one query.
async fn run_batches<T>(pool: PgPool, sql: &'static str, mut lookups: mpsc::UnboundedReceiver<Lookup<T>>)
where
    T: for<'r> FromRow<'r, PgRow> + Clone + Send + Unpin + 'static,
{
    let slots = Arc::new(Semaphore::new(CONCURRENT_BATCHES));
    let connections = Arc::new(KeptConnections::new());
    loop {
        let first = match tokio::time::timeout(KEEP_WHILE_BUSY, lookups.recv()).await {
            Ok(Some(lookup)) => lookup,
            Ok(None) => return,
            Err(_quiet) => {
                connections.give_back();
                continue;
            }
        };
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
        connections.give_back_when_due();
        let (pool, connections) = (pool.clone(), Arc::clone(&connections));
        tokio::spawn(async move {
            let conn = match connections.take() {
                Some(conn) => Ok(conn),
                None => pool.acquire().await,
            };
            match conn {
                Ok(mut conn) => {
                    if answer_batch(&mut conn, sql, batch).await {
                        connections.keep(conn);
                    }
                }
                Err(err) => refuse_batch(batch, &err),
            }
            drop(slot);
        });
    }
}

/// Answers every lookup of `batch` with one query; false if the query
/// failed (the connection is then not kept).
async fn answer_batch<T>(conn: &mut PgConnection, sql: &'static str, batch: Vec<Lookup<T>>) -> bool
where
    T: for<'r> FromRow<'r, PgRow> + Clone + Send + Unpin + 'static,
{
    let hashes: Vec<&str> = batch.iter().map(|lookup| lookup.token_hash.as_str()).collect();
    let rows: Result<Vec<Hit<T>>, sqlx::Error> = sqlx::query_as(sql).bind(&hashes).fetch_all(&mut *conn).await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(err) => {
            refuse_batch(batch, &err);
            return false;
        }
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
    true
}

/// Sends every lookup of a failed batch back to run its own query.
fn refuse_batch<T>(batch: Vec<Lookup<T>>, err: &sqlx::Error) {
    tracing::debug!(error = %err, lookups = batch.len(), "batched lookup failed; each runs its own");
    for lookup in batch {
        let _ = lookup.reply.send(Err(NotBatched));
    }
}
