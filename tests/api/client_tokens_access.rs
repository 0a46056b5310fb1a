//! Who may do what with client tokens: the administrators' list and
//! revoke, the scopes each endpoint wants, and no way from a narrow
//! credential to a wider token (SPEC 8.2).

use axum::body::Body;
use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use serde_json::json;

use crate::client_tokens_support::{listed, me_status, token_with};
use crate::util::{TestApp, on_both_engines, request};

on_both_engines!(
    administrators_list_and_revoke_everyones_tokens,
    |app: TestApp| async move {
        let (_, root) = app.signed_in("root", Role::Admin).await;
        let (_, alice) = app.signed_in("alice", Role::Editor).await;
        let (alices, alices_raw) = token_with(&app, &alice, "alice's", &["me.read"]).await;
        let (roots, _) = token_with(&app, &root, "root's", &["users.read"]).await;

        let all = app.as_browser(&root, Method::GET, "/api/client-tokens/all", None).await;
        assert_eq!(all.status, StatusCode::OK);
        assert!(!all.text().contains(&alices_raw) && !all.text().contains("raw_token"));
        let list = all.json();
        let names: Vec<(&str, &str)> = list
            .as_array()
            .expect("list")
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().expect("name"),
                    t["username"].as_str().expect("username"),
                )
            })
            .collect();
        assert_eq!(names, vec![("root's", "root"), ("alice's", "alice")]);

        for (method, path) in [
            (Method::GET, "/api/client-tokens/all".to_string()),
            (Method::DELETE, format!("/api/client-tokens/{roots}/admin")),
        ] {
            let refused = app.as_browser(&alice, method.clone(), &path, None).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{method} {path}");
            assert_eq!(refused.error_code(), "insufficient_scope");
        }

        let path = format!("/api/client-tokens/{alices}/admin");
        let revoked = app.as_browser(&root, Method::DELETE, &path, None).await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        assert_eq!(me_status(&app, &alices_raw).await, StatusCode::UNAUTHORIZED);
        let again = app.as_browser(&root, Method::DELETE, &path, None).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        assert!(listed(&app, &alice).await.is_empty());
    }
);

on_both_engines!(
    a_narrow_credential_cannot_reach_a_wider_token,
    |app: TestApp| async move {
        let (_, root) = app.signed_in("root", Role::Admin).await;
        let (_, narrow) = token_with(&app, &root, "narrow", &["me.read", "me.write"]).await;
        let (wide, wide_raw) = token_with(&app, &root, "wide", &["me.read", "users.write"]).await;

        let body = json!({"name": "escalate", "scopes": ["users.write"]});
        let minted = app
            .with_bearer(Method::POST, "/api/client-tokens", &narrow, Some(body))
            .await;
        assert_eq!(minted.status, StatusCode::FORBIDDEN, "{}", minted.text());
        assert!(
            minted.json()["detail"]
                .as_str()
                .expect("detail")
                .contains("users.write")
        );

        // Neither a wider token nor one no wider than itself: a client
        // token renews only itself (a stolen one must not take over the
        // others, which would then not end with it).
        let (other, other_raw) = token_with(&app, &root, "other", &["me.read"]).await;
        for (id, raw) in [(wide, &wide_raw), (other, &other_raw)] {
            for (method, path) in [
                (Method::PUT, format!("/api/client-tokens/{id}/regenerate")),
                (Method::POST, format!("/api/client-tokens/{id}/pair")),
            ] {
                let refused = app.with_bearer(method.clone(), &path, &narrow, None).await;
                assert_eq!(
                    refused.status,
                    StatusCode::FORBIDDEN,
                    "{method} {path}: {}",
                    refused.text()
                );
            }
            assert_eq!(me_status(&app, raw).await, StatusCode::OK, "token {id} kept its secret");
        }

        // Within its own scopes the narrow token manages tokens as RomM's
        // apps expect.
        let body = json!({"name": "sibling", "scopes": ["me.read"]});
        let sibling = app
            .with_bearer(Method::POST, "/api/client-tokens", &narrow, Some(body))
            .await;
        assert_eq!(sibling.status, StatusCode::CREATED);
        let listing = app.with_bearer(Method::GET, "/api/client-tokens", &narrow, None).await;
        assert_eq!(listing.status, StatusCode::OK);
        let read_only = sibling.json()["raw_token"].as_str().expect("raw").to_string();
        let body = json!({"name": "x", "scopes": ["me.read"]});
        let refused = app
            .with_bearer(Method::POST, "/api/client-tokens", &read_only, Some(body))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "creating needs me.write");
    }
);

#[tokio::test]
async fn the_endpoints_want_credentials() {
    let app = TestApp::new().await;
    for (method, path) in [
        (Method::GET, "/api/client-tokens"),
        (Method::POST, "/api/client-tokens"),
        (Method::GET, "/api/client-tokens/all"),
        (Method::DELETE, "/api/client-tokens/1"),
        (Method::PUT, "/api/client-tokens/1/regenerate"),
        (Method::POST, "/api/client-tokens/1/pair"),
        (Method::DELETE, "/api/client-tokens/1/admin"),
        (Method::GET, "/api/devices"),
        (Method::DELETE, "/api/devices/x"),
    ] {
        let body = Body::from("{}");
        let response = app
            .send(request(
                method.clone(),
                path,
                &[("content-type", "application/json")],
                body,
            ))
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(response.error_code(), "not_authenticated");
    }
}
