//! A refresh rotation is one transaction: when storing the successors
//! fails, the presented refresh token is not spent (a client's retry then
//! works instead of looking like a replay), and nothing of the new pair is
//! left behind. A sign-in by password writes its session or token pair
//! only while the account has the password hash it checked. On SQLite and
//! PostgreSQL.

use romgate::auth::Role;
use romgate::store::{NewAccessToken, NewSession, NewUser, RefreshClaim, StoreError};

use crate::util::{START, TestApp, on_both_engines};

/// Viewer alice, with `password_hash` (or none).
fn alice(password_hash: Option<&str>, enabled: bool) -> NewUser {
    NewUser {
        username: "alice".into(),
        email: None,
        email_trusted: false,
        password_hash: password_hash.map(str::to_string),
        role: Role::Viewer,
        enabled,
    }
}

fn token<'a>(hash: &'a str, user_id: i64) -> NewAccessToken<'a> {
    NewAccessToken {
        token_hash: hash,
        family_id: "fam",
        user_id,
        scopes: "me.read",
        now: START,
        expires_at: START + 600,
    }
}

on_both_engines!(
    a_failed_rotation_spends_nothing_and_writes_nothing,
    |app: TestApp| async move {
        let store = app.store();
        let user = store.insert_user(&alice(None, true), START).await.expect("insert");
        store
            .insert_token_pair(&token("a-1", user.id), &token("r-1", user.id), None)
            .await
            .expect("a pair");
        // The new refresh token collides (an existing hash): the last write of
        // the rotation fails.
        let failed = store
            .rotate_refresh_token("r-1", START + 1, &token("a-2", user.id), &token("r-1", user.id))
            .await;
        assert!(failed.is_err(), "{failed:?}");
        assert!(
            matches!(
                store.peek_refresh_token("r-1", START + 2).await.expect("peek"),
                RefreshClaim::Claimed { .. }
            ),
            "the presented token is still usable"
        );
        assert!(
            store
                .find_access_token("a-2", START + 2)
                .await
                .expect("lookup")
                .is_none(),
            "no access token of the failed rotation"
        );

        let rotated = store
            .rotate_refresh_token("r-1", START + 3, &token("a-3", user.id), &token("r-3", user.id))
            .await
            .expect("rotation");
        assert!(rotated);
        assert!(
            store
                .find_access_token("a-3", START + 4)
                .await
                .expect("lookup")
                .is_some()
        );
        assert_eq!(
            store.peek_refresh_token("r-1", START + 4).await.expect("peek"),
            RefreshClaim::Reused {
                family_id: "fam".into()
            }
        );
        // A second presentation of the spent token rotates nothing.
        let again = store
            .rotate_refresh_token("r-1", START + 5, &token("a-4", user.id), &token("r-4", user.id))
            .await
            .expect("no error");
        assert!(!again);
        assert!(
            store
                .find_access_token("a-4", START + 6)
                .await
                .expect("lookup")
                .is_none()
        );
    }
);

on_both_engines!(
    a_password_sign_in_writes_nothing_once_the_password_changed,
    |app: TestApp| async move {
        let store = app.store();
        let user = store
            .insert_user(&alice(Some("old-hash"), true), START)
            .await
            .expect("insert");
        let session = |hash| NewSession {
            token_hash: hash,
            user_id: user.id,
            now: START,
            expires_at: START + 600,
            oidc_issuer: None,
            oidc_subject: None,
            oidc_sid: None,
            id_token: None,
            authenticated_at: None,
            password_hash: Some("old-hash"),
        };
        store.insert_session(&session("s-1")).await.expect("unchanged: written");
        store
            .insert_token_pair(&token("a-1", user.id), &token("r-1", user.id), Some("old-hash"))
            .await
            .expect("unchanged: written");

        store
            .set_password_hash(user.id, "new-hash", START + 1)
            .await
            .expect("change");
        let late_session = store.insert_session(&session("s-2")).await;
        assert!(
            matches!(late_session, Err(StoreError::PasswordChanged)),
            "{late_session:?}"
        );
        let late_pair = store
            .insert_token_pair(&token("a-2", user.id), &token("r-2", user.id), Some("old-hash"))
            .await;
        assert!(matches!(late_pair, Err(StoreError::PasswordChanged)), "{late_pair:?}");
        assert!(store.find_session("s-2", START + 2).await.expect("lookup").is_none());
        assert!(
            store
                .find_access_token("a-2", START + 2)
                .await
                .expect("lookup")
                .is_none()
        );
        assert_eq!(
            store.peek_refresh_token("r-2", START + 2).await.expect("peek"),
            RefreshClaim::Invalid
        );
        // The sessions and tokens written before are the revocation's to end.
        assert!(store.find_session("s-1", START + 2).await.expect("lookup").is_some());
    }
);

on_both_engines!(
    /// A sign-in that upgrades an old hash replaces it only while it is
    /// still stored: a password changed meanwhile is never written back.
    a_hash_upgrade_never_writes_over_a_changed_password,
    |app: TestApp| async move {
        let store = app.store();
        let user = store.insert_user(&alice(Some("old-hash"), true), START).await.expect("insert");
        store.set_password_hash(user.id, "changed-hash", START + 1).await.expect("change");
        let replaced = store
            .replace_password_hash(user.id, "old-hash", "upgraded-old-hash", START + 2)
            .await
            .expect("no error");
        assert!(!replaced);
        let stored = store.find_user_with_hash("alice").await.expect("lookup").expect("alice");
        assert_eq!(stored.password_hash.as_deref(), Some("changed-hash"));
        assert!(
            store
                .replace_password_hash(user.id, "changed-hash", "upgraded", START + 3)
                .await
                .expect("no error")
        );
    }
);

/// Which revocation races the rotation.
#[derive(Debug, Clone, Copy)]
enum Revocation {
    /// A password change, a disable, a deletion.
    OfUser,
    /// A spent refresh token presented again.
    OfFamily,
}

/// Backends that `pid` holds up, on the test's database.
async fn blocked_by(pool: &sqlx::PgPool, pid: i32) -> Vec<i32> {
    sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))")
        .bind(pid)
        .fetch_all(pool)
        .await
        .expect("pg_stat_activity")
}

/// Waits (up to 30 s) until `pid` holds up exactly one backend: its pid.
async fn one_waiting_on(pool: &sqlx::PgPool, pid: i32) -> i32 {
    for _ in 0..3000 {
        if let [waiting] = blocked_by(pool, pid).await[..] {
            return waiting;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("nothing came to wait on backend {pid}");
}

/// On PostgreSQL a revocation used to see only rows committed when its
/// DELETE started: a rotation in flight beside it left a successor that
/// nobody revoked, so a thief refreshing in a loop outlived a password
/// change or a replay. The interleaving is forced: another transaction
/// holds the successor's hash, so the rotation stops between spending the
/// old token and committing the new one; the revocation starts then.
async fn a_revocation_beside_a_rotation_also_ends_the_successor(revocation: Revocation) {
    let schema = format!("t_{}", crate::util::hex_id());
    let app = TestApp::builder().postgres_schema(&schema).build().await;
    let url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let options: sqlx::postgres::PgConnectOptions = url.parse().expect("url");
    let raw = sqlx::PgPool::connect_with(options.options([("search_path", schema.as_str())]))
        .await
        .expect("a second connection");
    let store = app.store().clone();
    let user = store.insert_user(&alice(None, true), START).await.expect("insert");
    store
        .insert_token_pair(&token("a-1", user.id), &token("r-1", user.id), None)
        .await
        .expect("a pair");

    let mut holder = raw.begin().await.expect("begin");
    let holder_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *holder)
        .await
        .expect("pid");
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, scopes, created_at, expires_at) \
         VALUES ('r-2', 'other', $1, 'me.read', $2, $3)",
    )
    .bind(user.id)
    .bind(START)
    .bind(START + 600)
    .execute(&mut *holder)
    .await
    .expect("the successor's hash, held");

    let rotating = {
        let store = store.clone();
        let user_id = user.id;
        tokio::spawn(async move {
            store
                .rotate_refresh_token("r-1", START + 1, &token("a-2", user_id), &token("r-2", user_id))
                .await
        })
    };
    let rotation_pid = one_waiting_on(&raw, holder_pid).await;
    let revoking = {
        let store = store.clone();
        let user_id = user.id;
        tokio::spawn(async move {
            match revocation {
                Revocation::OfUser => store.revoke_user_credentials(user_id).await,
                Revocation::OfFamily => store.revoke_token_family("fam").await,
            }
        })
    };
    one_waiting_on(&raw, rotation_pid).await;
    holder.rollback().await.expect("let the rotation go on");

    let rotated = rotating.await.expect("task").expect("rotation");
    assert!(rotated, "the rotation went first");
    revoking.await.expect("task").expect("revocation");
    // Deleted (a user's revocation) or marked spent (a family's): either
    // way no longer usable.
    let successor = store.peek_refresh_token("r-2", START + 2).await.expect("peek");
    assert!(
        !matches!(successor, RefreshClaim::Claimed { .. }),
        "{revocation:?}: the successor is revoked too ({successor:?})"
    );
    assert!(
        store
            .find_access_token("a-2", START + 2)
            .await
            .expect("lookup")
            .is_none(),
        "{revocation:?}: and its access token"
    );
    raw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn a_user_revocation_beside_a_rotation_also_ends_the_successor() {
    a_revocation_beside_a_rotation_also_ends_the_successor(Revocation::OfUser).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn a_family_revocation_beside_a_rotation_also_ends_the_successor() {
    a_revocation_beside_a_rotation_also_ends_the_successor(Revocation::OfFamily).await;
}

on_both_engines!(
    /// A single sign-on's session is written only while the account is
    /// enabled (under the lock a disable's revocation takes), so one racing
    /// a disable cannot outlive it and come back with a re-enable.
    a_single_sign_on_session_is_not_written_for_a_disabled_account,
    |app: TestApp| async move {
        let store = app.store();
        let user = store.insert_user(&alice(None, false), START).await.expect("insert");
        let session = NewSession {
            token_hash: "s-sso",
            user_id: user.id,
            now: START,
            expires_at: START + 600,
            oidc_issuer: Some("https://idp.example.com"),
            oidc_subject: Some("alice-sub"),
            oidc_sid: None,
            id_token: None,
            authenticated_at: Some(START),
            password_hash: None,
        };
        let written = store.insert_session(&session).await;
        assert!(matches!(written, Err(StoreError::AccountDisabled)), "{written:?}");
        let enable = romgate::store::UserChanges {
            enabled: Some(true),
            ..Default::default()
        };
        store.update_user(user.id, &enable, START + 1).await.expect("enable");
        assert!(store.find_session("s-sso", START + 2).await.expect("lookup").is_none());
        store.insert_session(&session).await.expect("enabled: written");
    }
);

/// An app's logout while another connection writes (SQLite lets one write
/// at a time) waits its turn and ends the sign-in: its transaction writes
/// first. One that read first would fail at once, busy, when the other
/// committed, and leave the sign-in alive.
#[tokio::test]
async fn an_apps_logout_waits_for_another_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("romgate.db");
    let app = TestApp::builder().sqlite_file(&file).build().await;
    let store = app.store().clone();
    let user = store.insert_user(&alice(None, true), START).await.expect("insert");
    store
        .insert_token_pair(&token("a-1", user.id), &token("r-1", user.id), None)
        .await
        .expect("a pair");
    let other = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect("a second connection");
    let mut writing = other.begin().await.expect("begin");
    sqlx::query("UPDATE users SET enabled = enabled")
        .execute(&mut *writing)
        .await
        .expect("the write lock");
    let ending = {
        let store = store.clone();
        tokio::spawn(async move { store.end_access_token_family("a-1").await })
    };
    // Gives the logout time to begin before the other write commits.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    writing.commit().await.expect("commit");
    assert!(ending.await.expect("joined").expect("ended"));
    assert!(
        store
            .find_access_token("a-1", START + 1)
            .await
            .expect("lookup")
            .is_none()
    );
    assert!(
        matches!(
            store.peek_refresh_token("r-1", START + 1).await.expect("peek"),
            RefreshClaim::Reused { .. }
        ),
        "the refresh token is spent: using it again is a replay"
    );
}
