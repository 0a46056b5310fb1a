//! A refresh rotation is one transaction: when storing the successors
//! fails, the presented refresh token is not spent (a client's retry then
//! works instead of looking like a replay), and nothing of the new pair is
//! left behind. A sign-in by password writes its session or token pair
//! only while the account has the password hash it checked. On SQLite and
//! PostgreSQL.

use romgate::auth::Role;
use romgate::store::{NewAccessToken, NewSession, NewUser, RefreshClaim, StoreError};

use crate::util::{START, TestApp, on_both_engines};

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
        let user = NewUser {
            username: "alice".into(),
            email: None,
            email_trusted: false,
            password_hash: None,
            role: Role::Viewer,
            enabled: true,
        };
        let user = store.insert_user(&user, START).await.expect("insert");
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
        let user = NewUser {
            username: "alice".into(),
            email: None,
            email_trusted: false,
            password_hash: Some("old-hash".into()),
            role: Role::Viewer,
            enabled: true,
        };
        let user = store.insert_user(&user, START).await.expect("insert");
        let session = |hash| NewSession {
            token_hash: hash,
            user_id: user.id,
            now: START,
            expires_at: START + 600,
            oidc_issuer: None,
            oidc_subject: None,
            oidc_sid: None,
            id_token: None,
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
        let user = NewUser {
            username: "alice".into(),
            email: None,
            email_trusted: false,
            password_hash: Some("old-hash".into()),
            role: Role::Viewer,
            enabled: true,
        };
        let user = store.insert_user(&user, START).await.expect("insert");
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
