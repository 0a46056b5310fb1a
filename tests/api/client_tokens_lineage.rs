//! What an app's sign-in makes goes with it: a client token created, or a
//! device approved, with an access token of `/api/token` ends when that
//! token's family does (a replayed refresh token, the app's logout) and
//! when its owner's sign-ins do (a password change). What the person makes
//! at their own account (a session) stays. On SQLite and PostgreSQL; the
//! lineage of client tokens made by client tokens: `client_tokens`.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use romgate::store::{Minter, NewAccessToken, NewClientToken, StoreError};
use serde_json::json;

use crate::client_tokens_support::{listed, me_status, token_with};
use crate::device_support::{poll, start};
use crate::util::{PASSWORD, START, TestApp, TestResponse, enc, on_both_engines};

/// An app's password grant for alice: (access token, refresh token).
async fn app_sign_in(app: &TestApp) -> (String, String) {
    let answer = app.token("alice", PASSWORD, "").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let json = answer.json();
    let text = |key: &str| json[key].as_str().expect("token").to_string();
    (text("access_token"), text("refresh_token"))
}

/// A client token made with `bearer` (an access or a client token): its
/// raw secret.
async fn made_with(app: &TestApp, bearer: &str, name: &str) -> String {
    let body = json!({"name": name, "scopes": ["me.read", "me.write"]});
    let made = app
        .with_bearer(Method::POST, "/api/client-tokens", bearer, Some(body))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    made.json()["raw_token"].as_str().expect("raw_token").to_string()
}

/// A device sign-in approved with `bearer` and collected: the device's
/// client token.
async fn device_approved_with(app: &TestApp, bearer: &str) -> String {
    let started = start(app, &["me.read"]).await;
    let body = json!({"user_code": started.user_code, "approved_scopes": ["me.read"]});
    let approved = app
        .with_bearer(Method::POST, "/api/auth/device/approve", bearer, Some(body))
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    let collected = poll(app, &started.device_code).await;
    assert_eq!(collected.status, StatusCode::OK, "{}", collected.text());
    collected.json()["access_token"]
        .as_str()
        .expect("the device's token")
        .to_string()
}

async fn refresh(app: &TestApp, token: &str) -> TestResponse {
    let form = format!("grant_type=refresh_token&refresh_token={}", enc(token));
    app.post_form("/api/token", &[], &form).await
}

on_both_engines!(
    /// A replayed refresh token revokes its family: the client tokens and
    /// device tokens its access tokens made (and what those made) end with
    /// it, while a token the person made on their own account stays.
    a_replay_ends_what_the_family_made,
    |app: TestApp| async move {
        let (_, alice) = app.signed_in("alice", Role::Viewer).await;
        let (access, first_refresh) = app_sign_in(&app).await;
        let planted = made_with(&app, &access, "planted").await;
        let planted_child = made_with(&app, &planted, "child").await;
        let device = device_approved_with(&app, &access).await;
        let (_, own) = token_with(&app, &alice, "own", &["me.read"]).await;
        for token in [&planted, &planted_child, &device, &own] {
            assert_eq!(me_status(&app, token).await, StatusCode::OK);
        }
        let rotated = refresh(&app, &first_refresh).await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
        let after_rotation = rotated.json()["access_token"].as_str().expect("access").to_string();
        let made_later = made_with(&app, &after_rotation, "later").await;

        let replayed = refresh(&app, &first_refresh).await;
        assert_eq!(replayed.status, StatusCode::BAD_REQUEST, "{}", replayed.text());
        for token in [&planted, &planted_child, &device, &made_later] {
            assert_eq!(me_status(&app, token).await, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(me_status(&app, &own).await, StatusCode::OK);
        let names: Vec<_> = listed(&app, &alice).await.into_iter().map(|t| t["name"].clone()).collect();
        assert_eq!(names, [json!("own")], "only the person's own token is left");
    }
);

on_both_engines!(
    /// An app that signs out ends its whole sign-in, the tokens it made
    /// included; another app's sign-in and what it made stay.
    an_apps_logout_ends_the_tokens_it_made,
    |app: TestApp| async move {
        app.signed_in("alice", Role::Viewer).await;
        let (access, _) = app_sign_in(&app).await;
        let (other_access, _) = app_sign_in(&app).await;
        let made = made_with(&app, &access, "made").await;
        let other_made = made_with(&app, &other_access, "other").await;

        let logout = app.with_bearer(Method::POST, "/api/logout", &access, None).await;
        assert!(logout.status.is_success(), "{}", logout.text());
        assert_eq!(me_status(&app, &made).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&app, &other_access).await, StatusCode::OK);
        assert_eq!(me_status(&app, &other_made).await, StatusCode::OK);
    }
);

on_both_engines!(
    /// A password change ends every sign-in, apps' included, and so what
    /// they made; the tokens the person made at their own account (which
    /// they see on the tokens page) stay.
    a_password_change_ends_what_app_sign_ins_made,
    |app: TestApp| async move {
        let (alice_user, alice) = app.signed_in("alice", Role::Viewer).await;
        let (access, _) = app_sign_in(&app).await;
        let made = made_with(&app, &access, "made").await;
        let (_, own) = token_with(&app, &alice, "own", &["me.read"]).await;

        let change = json!({"password": "a-brand-new-password", "current_password": PASSWORD});
        let path = format!("/api/users/{}", alice_user.id);
        let changed = app.as_browser(&alice, Method::PUT, &path, Some(change)).await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
        assert_eq!(me_status(&app, &made).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&app, &own).await, StatusCode::OK);
    }
);

on_both_engines!(
    /// A request authenticated with a credential that is ended before its
    /// token is written writes nothing (the revocation has already run and
    /// would not find it): the store refuses, and the request is answered
    /// as its next attempt would be.
    a_token_whose_minter_was_ended_is_not_written,
    |app: TestApp| async move {
        let store = app.store();
        let alice = app.create_user("alice", Role::Viewer).await;
        let access = NewAccessToken {
            token_hash: "a-1",
            family_id: "fam",
            user_id: alice.id,
            scopes: "me.read me.write",
            now: START,
            expires_at: START + 600,
        };
        store.insert_token_pair(&access, &NewAccessToken { token_hash: "r-1", ..access }, None)
            .await
            .expect("a pair");
        let token = |minted_by: Minter| NewClientToken {
            user_id: alice.id,
            device_id: None,
            name: "app".into(),
            token_hash: Some(crate::util::hex_id()),
            scopes: "me.read".into(),
            expires_at: None,
            minted_by,
        };
        let made = store
            .insert_client_token(&token(Minter::AccessToken("a-1".into())), 25, START)
            .await
            .expect("written")
            .expect("under the limit");
        let by_token = store
            .insert_client_token(&token(Minter::ClientToken(made.id)), 25, START)
            .await
            .expect("written")
            .expect("under the limit");

        store.revoke_token_family("fam").await.expect("revoked");
        let left = store.client_tokens_of(alice.id).await.expect("tokens");
        assert!(left.is_empty(), "the family's token and its child went: {left:?}");
        for minter in [Minter::AccessToken("a-1".into()), Minter::ClientToken(by_token.id)] {
            let refused = store.insert_client_token(&token(minter), 25, START).await;
            assert!(matches!(refused, Err(StoreError::MinterEnded)), "{refused:?}");
        }
        assert!(store.client_tokens_of(alice.id).await.expect("tokens").is_empty());
    }
);

on_both_engines!(
    /// An app's sign-in hands out only the tokens it made: a new secret or
    /// a pairing code of the person's own token, or of another sign-in's,
    /// would outlive it. Its own it may; the person's session may any.
    an_app_sign_in_renews_or_pairs_only_what_it_made,
    |app: TestApp| async move {
        let (_, alice) = app.signed_in("alice", Role::Viewer).await;
        let (access, _) = app_sign_in(&app).await;
        let (other_access, _) = app_sign_in(&app).await;
        let (own, _) = token_with(&app, &alice, "own", &["me.read"]).await;
        let made = app
            .with_bearer(Method::POST, "/api/client-tokens", &access, Some(json!({"name": "app", "scopes": ["me.read"]})))
            .await;
        let made = made.json()["id"].as_i64().expect("id");
        let paths = |id: i64| {
            [
                (Method::PUT, format!("/api/client-tokens/{id}/regenerate")),
                (Method::POST, format!("/api/client-tokens/{id}/pair")),
            ]
        };
        for (method, path) in paths(own) {
            let refused = app.with_bearer(method.clone(), &path, &access, None).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}: {}", refused.text());
            let allowed = app.as_browser(&alice, method, &path, None).await;
            assert_eq!(allowed.status, StatusCode::OK, "{path}: {}", allowed.text());
        }
        for (method, path) in paths(made) {
            let refused = app.with_bearer(method.clone(), &path, &other_access, None).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}: {}", refused.text());
            let allowed = app.with_bearer(method, &path, &access, None).await;
            assert_eq!(allowed.status, StatusCode::OK, "{path}: {}", allowed.text());
        }
    }
);

on_both_engines!(
    /// A thief making tokens in a loop with a stolen access token while the
    /// refresh token's replay revokes the family: every token the loop got
    /// is refused afterwards, whichever finished first (the revocation and
    /// each creation take the owner's lock in turn).
    tokens_made_while_the_family_is_revoked_do_not_survive,
    |app: TestApp| async move {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

        app.signed_in("alice", Role::Viewer).await;
        let (access, first_refresh) = app_sign_in(&app).await;
        let rotated = refresh(&app, &first_refresh).await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
        let (revoked, made) = (AtomicBool::new(false), AtomicUsize::new(0));
        let thief = |n: usize| {
            let (app, access, revoked, made) = (&app, &access, &revoked, &made);
            async move {
                let mut got = Vec::new();
                for round in 0.. {
                    if revoked.load(SeqCst) {
                        break;
                    }
                    let body = json!({"name": format!("t{n}-{round}"), "scopes": ["me.read"]});
                    let answer = app.with_bearer(Method::POST, "/api/client-tokens", access, Some(body)).await;
                    match answer.status {
                        StatusCode::CREATED => {
                            got.push(answer.json()["raw_token"].as_str().expect("raw").to_string());
                            made.fetch_add(1, SeqCst);
                        }
                        // The limit of 25, or the sign-in already ended.
                        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED => {}
                        other => panic!("{other}: {}", answer.text()),
                    }
                }
                got
            }
        };
        let replay = async {
            while made.load(SeqCst) < 4 {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            let replayed = refresh(&app, &first_refresh).await;
            assert_eq!(replayed.status, StatusCode::BAD_REQUEST, "{}", replayed.text());
            revoked.store(true, SeqCst);
        };
        let (got, ()) = tokio::join!(futures_util::future::join_all((0..3).map(thief)), replay);
        let got: Vec<String> = got.into_iter().flatten().collect();
        assert!(got.len() >= 4, "the thief made tokens before the replay");
        for token in &got {
            assert_eq!(me_status(&app, token).await, StatusCode::UNAUTHORIZED, "a token outlived its family");
        }
    }
);
