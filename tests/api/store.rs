//! The storage layer, the same tests on SQLite and PostgreSQL.

use romgate::auth::Role;
use romgate::store::{NewAccessToken, NewSession, NewUser, RefreshClaim, StoreError, Unique, UserChanges};

use crate::util::{START, TestApp, on_both_engines};

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.into(),
        email: Some(format!("{name}@example.com")),
        email_trusted: true,
        password_hash: None,
        role,
        enabled: true,
    }
}

on_both_engines!(users_round_trip_with_case_insensitive_keys, |app: TestApp| async move {
    let store = app.store();
    let created = store
        .insert_user(&new_user("Alice", Role::Editor), START)
        .await
        .expect("insert");
    assert_eq!(created.username, "Alice");
    assert_eq!(created.role, Role::Editor);
    assert!(created.enabled);
    let by_name = store
        .find_user_by_username("aLiCe")
        .await
        .expect("query")
        .expect("found");
    assert_eq!(by_name, created);
    let by_email = store
        .find_user_by_email("ALICE@example.com")
        .await
        .expect("query")
        .expect("found");
    assert_eq!(by_email.id, created.id);
    // One collision at a time: when both collide, which one an engine
    // reports first is its own business.
    let same_name = NewUser {
        email: None,
        ..new_user("ALICE", Role::Viewer)
    };
    let dup = store.insert_user(&same_name, START).await;
    assert!(matches!(dup, Err(StoreError::Conflict(Unique::Username))), "{dup:?}");
    let same_email = NewUser {
        email: Some("Alice@EXAMPLE.com".into()),
        ..new_user("alice2", Role::Viewer)
    };
    let dup = store.insert_user(&same_email, START).await;
    assert!(matches!(dup, Err(StoreError::Conflict(Unique::Email))), "{dup:?}");
});

on_both_engines!(
    updates_are_partial_and_guard_the_last_admin,
    |app: TestApp| async move {
        let store = app.store();
        let admin = store
            .insert_user(&new_user("root", Role::Admin), START)
            .await
            .expect("insert");
        let user = store
            .insert_user(&new_user("bob", Role::Viewer), START)
            .await
            .expect("insert");
        let changes = UserChanges {
            email: Some(None),
            enabled: Some(false),
            ..Default::default()
        };
        let updated = store
            .update_user(user.id, &changes, START + 5)
            .await
            .expect("update")
            .expect("exists");
        assert_eq!(updated.email, None);
        assert!(!updated.enabled);
        assert_eq!(updated.username, "bob");
        assert_eq!(updated.updated_at, START + 5);
        let demote = UserChanges {
            role: Some(Role::Viewer),
            ..Default::default()
        };
        assert!(matches!(
            store.update_user(admin.id, &demote, START).await,
            Err(StoreError::LastAdmin)
        ));
        assert!(matches!(store.delete_user(admin.id).await, Err(StoreError::LastAdmin)));
        assert_eq!(
            store.find_user(admin.id).await.expect("query").expect("still").role,
            Role::Admin
        );
        assert!(store.delete_user(user.id).await.expect("delete"));
    }
);

on_both_engines!(sessions_join_the_current_user_and_expire, |app: TestApp| async move {
    let store = app.store();
    let user = store
        .insert_user(&new_user("alice", Role::Viewer), START)
        .await
        .expect("insert");
    let session = NewSession {
        token_hash: "hash-1",
        user_id: user.id,
        now: START,
        expires_at: START + 100,
        oidc_issuer: Some("https://idp.example.com"),
        oidc_subject: Some("sub-1"),
        oidc_sid: None,
        id_token: Some("id-token"),
        authenticated_at: None,
        password_hash: None,
    };
    store.insert_session(&session).await.expect("insert session");
    let found = store
        .find_session("hash-1", START + 99)
        .await
        .expect("query")
        .expect("live");
    assert_eq!(found.id, user.id);
    assert!(
        store
            .find_session("hash-1", START + 100)
            .await
            .expect("query")
            .is_none()
    );
    let password_session = NewSession {
        token_hash: "hash-2",
        oidc_issuer: None,
        oidc_subject: None,
        id_token: None,
        authenticated_at: None,
        password_hash: None,
        ..session
    };
    store.insert_session(&password_session).await.expect("insert session");
    assert_eq!(store.count_sessions(user.id, START).await.expect("count"), 2);

    // Ending a session hands back what logout needs of its sign-on, once.
    let ended = store.delete_session("hash-1").await.expect("delete").expect("was live");
    assert_eq!(ended.oidc_issuer.as_deref(), Some("https://idp.example.com"));
    assert_eq!(ended.oidc_subject.as_deref(), Some("sub-1"));
    assert_eq!(ended.id_token.as_deref(), Some("id-token"));
    assert!(store.delete_session("hash-1").await.expect("delete").is_none());
    assert!(store.find_session("hash-1", START + 1).await.expect("query").is_none());
    assert_eq!(store.count_sessions(user.id, START).await.expect("count"), 1);

    store.revoke_user_credentials(user.id).await.expect("revoke");
    assert_eq!(store.count_sessions(user.id, START).await.expect("count"), 0);
});

on_both_engines!(refresh_tokens_are_spent_once, |app: TestApp| async move {
    let store = app.store();
    let user = store
        .insert_user(&new_user("alice", Role::Viewer), START)
        .await
        .expect("insert");
    let token = NewAccessToken {
        token_hash: "r-1",
        family_id: "fam",
        user_id: user.id,
        scopes: "me.read",
        now: START,
        expires_at: START + 60,
    };
    store.insert_refresh_token(&token).await.expect("insert");
    let claimed = store.peek_refresh_token("r-1", START + 1).await.expect("peek");
    assert_eq!(
        claimed,
        RefreshClaim::Claimed {
            family_id: "fam".into(),
            user_id: user.id,
            scopes: "me.read".into()
        }
    );
    let successor = |hash| NewAccessToken {
        token_hash: hash,
        now: START + 1,
        ..token
    };
    assert!(
        store
            .rotate_refresh_token("r-1", START + 1, &successor("a-2"), &successor("r-2"))
            .await
            .expect("rotate"),
        "the first presentation spends it"
    );
    assert!(
        !store
            .rotate_refresh_token("r-1", START + 2, &successor("a-3"), &successor("r-3"))
            .await
            .expect("rotate"),
        "a second presentation spends nothing"
    );
    assert_eq!(
        store.peek_refresh_token("r-1", START + 2).await.expect("peek"),
        RefreshClaim::Reused {
            family_id: "fam".into()
        }
    );
    assert_eq!(
        store.peek_refresh_token("unknown", START).await.expect("peek"),
        RefreshClaim::Invalid
    );
});

on_both_engines!(rate_limit_windows_count_and_reset, |app: TestApp| async move {
    let store = app.store();
    for expected in 1..=3 {
        let window = store.rate_limit_hit("k", START, 60).await.expect("hit");
        assert_eq!(window.count, expected);
        assert_eq!(window.started_at, START);
    }
    assert_eq!(
        store
            .rate_limit_look("k", START + 59, 60)
            .await
            .expect("look")
            .map(|w| w.count),
        Some(3)
    );
    assert_eq!(store.rate_limit_look("k", START + 60, 60).await.expect("look"), None);
    let fresh = store.rate_limit_hit("k", START + 60, 60).await.expect("hit");
    assert_eq!((fresh.count, fresh.started_at), (1, START + 60));
    store.rate_limit_clear("k").await.expect("clear");
    assert_eq!(store.rate_limit_look("k", START + 60, 60).await.expect("look"), None);
});

on_both_engines!(
    rate_limit_hits_are_given_back_and_cleared_by_prefix,
    |app: TestApp| async move {
        let store = app.store();
        let first = store.rate_limit_hit("p:a_1", START, 60).await.expect("hit");
        store.rate_limit_hit("p:a_1", START, 60).await.expect("hit");
        store
            .rate_limit_give_back("p:a_1", first.started_at)
            .await
            .expect("give back");
        let count = |key: &'static str| async move {
            store
                .rate_limit_look(key, START, 60)
                .await
                .expect("look")
                .map(|w| w.count)
        };
        assert_eq!(count("p:a_1").await, Some(1));
        // Only the window that counted the hit gives it back.
        store
            .rate_limit_give_back("p:a_1", START - 60)
            .await
            .expect("give back");
        assert_eq!(count("p:a_1").await, Some(1));

        store.rate_limit_hit("p:a_2", START, 60).await.expect("hit");
        store.rate_limit_hit("p:ab_1", START, 60).await.expect("hit");
        let listed = store.rate_limit_look_prefix("p:a_", START, 60).await.expect("prefix");
        let mut keys: Vec<String> = listed.into_iter().map(|(key, _)| key).collect();
        keys.sort();
        assert_eq!(keys, ["p:a_1", "p:a_2"], "_ is no wildcard");
        store.rate_limit_clear_prefix("p:a_").await.expect("clear");
        assert_eq!((count("p:a_1").await, count("p:ab_1").await), (None, Some(1)));
    }
);

on_both_engines!(
    known_login_addresses_expire_and_are_forgotten,
    |app: TestApp| async move {
        let store = app.store();
        store
            .login_address_remember("u1", "203.0.113.5", START + 100)
            .await
            .expect("remember");
        store
            .login_address_remember("u2", "203.0.113.5", START + 100)
            .await
            .expect("remember");
        assert!(
            store
                .login_address_known("u1", "203.0.113.5", START + 99)
                .await
                .expect("known")
        );
        assert!(
            !store
                .login_address_known("u1", "203.0.113.5", START + 100)
                .await
                .expect("known")
        );
        assert!(
            !store
                .login_address_known("u1", "203.0.113.6", START)
                .await
                .expect("known")
        );
        store
            .login_address_remember("u1", "203.0.113.5", START + 500)
            .await
            .expect("again");
        assert!(
            store
                .login_address_known("u1", "203.0.113.5", START + 400)
                .await
                .expect("known")
        );
        store.login_addresses_forget("u1").await.expect("forget");
        assert!(
            !store
                .login_address_known("u1", "203.0.113.5", START)
                .await
                .expect("known")
        );
        assert!(
            store
                .login_address_known("u2", "203.0.113.5", START)
                .await
                .expect("known")
        );
        store.delete_expired(START + 100).await.expect("cleanup");
        assert!(
            !store
                .login_address_known("u2", "203.0.113.5", START)
                .await
                .expect("known")
        );
    }
);

on_both_engines!(expired_rows_are_cleaned_up, |app: TestApp| async move {
    let store = app.store();
    let user = store
        .insert_user(&new_user("alice", Role::Viewer), START)
        .await
        .expect("insert");
    let session = |hash, expires_at| NewSession {
        token_hash: hash,
        user_id: user.id,
        now: START,
        expires_at,
        oidc_issuer: None,
        oidc_subject: None,
        oidc_sid: None,
        id_token: None,
        authenticated_at: None,
        password_hash: None,
    };
    store.insert_session(&session("old", START + 10)).await.expect("insert");
    store
        .insert_session(&session("new", START + 1000))
        .await
        .expect("insert");
    store.delete_expired(START + 10).await.expect("cleanup");
    assert_eq!(store.count_sessions(user.id, START).await.expect("count"), 1);
});

// Many lookups at once (on PostgreSQL they are answered in shared queries):
// each gets its own user, or nothing for an unknown, expired or mistyped hash.
on_both_engines!(
    concurrent_lookups_each_find_their_own_credential,
    |app: TestApp| async move {
        let store = app.store();
        let mut users = Vec::new();
        for i in 0..12 {
            let user = store
                .insert_user(&new_user(&format!("user{i}"), Role::Viewer), START)
                .await
                .expect("insert");
            let session_hash = format!("session-{i}");
            let token_hash = format!("token-{i}");
            let session = NewSession {
                token_hash: &session_hash,
                user_id: user.id,
                now: START,
                // Every third one has expired by the time of the lookups.
                expires_at: if i % 3 == 0 { START + 10 } else { START + 1000 },
                oidc_issuer: None,
                oidc_subject: None,
                oidc_sid: None,
                id_token: None,
                authenticated_at: None,
                password_hash: None,
            };
            store.insert_session(&session).await.expect("session");
            let scopes = format!("me.read roms.read-{i}");
            let token = NewAccessToken {
                token_hash: &token_hash,
                family_id: &session_hash,
                user_id: user.id,
                scopes: &scopes,
                now: START,
                expires_at: session.expires_at,
            };
            store.insert_access_token(&token).await.expect("token");
            users.push(user);
        }
        let now = START + 100;
        let mut lookups = tokio::task::JoinSet::new();
        for round in 0..5 {
            for (i, user) in users.iter().enumerate() {
                let (store, user_id) = (store.clone(), user.id);
                lookups.spawn(async move {
                    let live = i % 3 != 0;
                    let session = store
                        .find_session(&format!("session-{i}"), now)
                        .await
                        .expect("session lookup");
                    assert_eq!(
                        session.map(|u| u.id),
                        live.then_some(user_id),
                        "session {i}, round {round}"
                    );
                    let token = store
                        .find_access_token(&format!("token-{i}"), now)
                        .await
                        .expect("token lookup");
                    let token = token.map(|row| (row.user.id, row.scopes));
                    assert_eq!(
                        token,
                        live.then(|| (user_id, format!("me.read roms.read-{i}"))),
                        "token {i}"
                    );
                    // A session hash is not a token hash, nor the other way round.
                    assert!(
                        store
                            .find_access_token(&format!("session-{i}"), now)
                            .await
                            .expect("lookup")
                            .is_none()
                    );
                    assert!(
                        store
                            .find_session(&format!("token-{i}"), now)
                            .await
                            .expect("lookup")
                            .is_none()
                    );
                });
            }
        }
        while let Some(done) = lookups.join_next().await {
            done.expect("every lookup answered as expected");
        }
    }
);
