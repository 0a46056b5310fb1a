//! The administrators' overview of every account (`Auth::accounts_overview`,
//! behind `/admin/users` and `romgate user list`): read in a fixed number of
//! queries, it must still give each account exactly its own links, email
//! trust and sign-in limits, the same answers as the per-account reads.

use axum::http::StatusCode;
use romgate::auth::Role;

use crate::library_support::get_as;
use crate::login_support::{login_from, wrong_logins_from_many};
use crate::util::{TestApp, on_both_engines};

const ISSUER: &str = "https://idp.example.com";

on_both_engines!(
    the_overview_gives_each_account_its_own_links_trust_and_limits,
    |app: TestApp| async move {
        let now = app.now();
        let alice = app.create_user("alice", Role::Viewer).await;
        app.create_user("bob", Role::Editor).await;
        let carol = app.create_user("carol", Role::Viewer).await;
        let (_, admin) = app.signed_in("root", Role::Admin).await;
        for (subject, user) in [("sub-a1", &alice), ("sub-a2", &alice), ("sub-c1", &carol)] {
            app.store().insert_link(ISSUER, subject, user.id, now).await.unwrap();
        }
        // bob: one address used up its 10 failures against him; carol: the
        // username-wide limit too (20 failures from addresses she never used).
        for _ in 0..10 {
            let answer = login_from(&app, "198.51.100.9", "bob", "wrong-password").await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        }
        wrong_logins_from_many(&app, "carol", 3, 10).await;

        let overview = app.state.auth.accounts_overview(now).await.unwrap();
        let names: Vec<&str> = overview.iter().map(|a| a.user.username.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol", "root"]);
        for account in &overview {
            let user = &account.user;
            let links = app.store().list_links(user.id).await.unwrap();
            let subjects = |links: &[romgate::store::IdentityLink]| -> Vec<String> {
                links.iter().map(|l| l.subject.clone()).collect()
            };
            assert_eq!(subjects(&account.links), subjects(&links), "{}", user.username);
            let limited = app.state.auth.login_limited_until(&user.username, now).await.unwrap();
            assert_eq!(account.limited_until, limited, "{}", user.username);
            let trusted = app.store().email_trusted(user.id).await.unwrap();
            assert_eq!(account.email_trusted, trusted, "{}", user.username);
        }
        let limited: Vec<&str> = overview
            .iter()
            .filter(|a| a.limited_until.is_some())
            .map(|a| a.user.username.as_str())
            .collect();
        assert_eq!(limited, ["bob", "carol"]);
        assert_eq!(overview[0].links.len(), 2);

        let page = get_as(&app, &admin, "/admin/users", &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert_eq!(
            html.matches("Sign-in limited by failed passwords until").count(),
            2,
            "{html}"
        );
    }
);
