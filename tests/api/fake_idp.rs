//! A small identity provider that can misbehave on purpose: test support for
//! the refusal cases. (The real provider, `oidc-provider`, runs in the
//! end-to-end suite.) It listens on loopback, signs ID tokens with the
//! committed test keys, and issues one code per `grant`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use openidconnect::core::{CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use romgate::clock::{Clock, ManualClock};
use serde_json::{Value, json};
use sha2::Digest;

use crate::fake_idp_faults::{Endpoint, Fault, fault_answer};

pub const CLIENT_ID: &str = "romgate-test";
pub const CLIENT_SECRET: &str = "test-client-secret";
pub const REDIRECT_URI: &str = "http://localhost:8080/api/oauth/openid";
/// What the token endpoint says in `Mode::ErrorJson` (romgate must not show it).
pub const TOKEN_ERROR_DESCRIPTION: &str = "PROVIDER-TEXT-MARKER: the code has expired";

/// How the token endpoint misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Good,
    BadSignature,
    AlgNone,
    Hs256WithPublicKey,
    WrongIssuer,
    WrongAudience,
    ExtraAudienceNoAzp,
    ExtraAudienceWrongAzp,
    ExtraAudienceRightAzp,
    Expired,
    IssuedInFuture,
    NonceMismatch,
    NonceMissing,
    UnknownKid,
    ErrorJson,
    Html500,
    MissingIdToken,
    UserinfoSubMismatch,
}

struct Grant {
    nonce: String,
    challenge: String,
    claims: Value,
}

struct IdpState {
    keys: Vec<CoreRsaPrivateSigningKey>,
    kids: Vec<String>,
    /// Index of the key that signs.
    signing: usize,
    mode: Mode,
    codes: HashMap<String, Grant>,
    userinfo: HashMap<String, Value>,
    discovery_overrides: Value,
    /// Merged into every userinfo answer (claims the ID token does not get).
    userinfo_overrides: Value,
    discovery_fetches: usize,
    /// Discovery answers 503 while set.
    discovery_failing: bool,
    /// Discovery answers wait until this is true.
    discovery_open: tokio::sync::watch::Receiver<bool>,
    jwks_fetches: usize,
    token_calls: usize,
    /// How each endpoint misbehaves (see `fake_idp_faults`).
    faults: HashMap<Endpoint, Fault>,
}

/// Holds every discovery answer back until dropped (a slow provider).
pub struct DiscoveryHold(tokio::sync::watch::Sender<bool>);

impl Drop for DiscoveryHold {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

/// The running server: what stops it, and its task.
type Server = (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>);

#[derive(Clone)]
pub struct FakeIdp {
    pub base: String,
    state: Arc<Mutex<IdpState>>,
    clock: ManualClock,
    /// Ends the server (see `stop`).
    server: Arc<Mutex<Option<Server>>>,
}

fn key(file: &str, kid: &str) -> CoreRsaPrivateSigningKey {
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    let pem = std::fs::read_to_string(path).expect("test key");
    CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid.into()))).expect("RSA key")
}

impl FakeIdp {
    /// Starts on a free loopback port.
    pub async fn start(clock: ManualClock) -> FakeIdp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::serve(listener, clock).await
    }

    /// Starts on a given port (for "provider was down, now it is up").
    pub async fn start_on(port: u16, clock: ManualClock) -> FakeIdp {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        Self::serve(listener, clock).await
    }

    async fn serve(listener: tokio::net::TcpListener, clock: ManualClock) -> FakeIdp {
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(IdpState {
            keys: vec![key("test-rsa-a.pem", "key-a"), key("test-rsa-b.pem", "key-b")],
            kids: vec!["key-a".into(), "key-b".into()],
            signing: 0,
            mode: Mode::Good,
            codes: HashMap::new(),
            userinfo: HashMap::new(),
            discovery_overrides: json!({}),
            userinfo_overrides: json!({}),
            discovery_fetches: 0,
            discovery_failing: false,
            discovery_open: tokio::sync::watch::channel(true).1,
            jwks_fetches: 0,
            token_calls: 0,
            faults: HashMap::new(),
        }));
        let server = Arc::new(Mutex::new(None));
        let idp = FakeIdp {
            base,
            state,
            clock,
            server: Arc::clone(&server),
        };
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            // The same document where RFC 8414 puts it (not OpenID Discovery's place).
            .route("/.well-known/oauth-authorization-server", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(idp.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        *server.lock().expect("lock") = Some((stop, task));
        idp
    }

    /// Stops the provider: its port refuses connections from now on (and
    /// its open connections are closed).
    pub async fn stop(&self) {
        let server = self.server.lock().expect("lock").take();
        if let Some((stop, task)) = server {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    /// The port it listens on (to start it again there).
    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
    }

    /// Makes `endpoint` misbehave as `fault` (`None`: healthy again).
    pub fn set_fault(&self, endpoint: Endpoint, fault: Option<Fault>) {
        let mut state = self.state.lock().expect("lock");
        match fault {
            Some(fault) => state.faults.insert(endpoint, fault),
            None => state.faults.remove(&endpoint),
        };
    }

    pub fn fault(&self, endpoint: Endpoint) -> Option<Fault> {
        self.state.lock().expect("lock").faults.get(&endpoint).copied()
    }

    pub fn metadata_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.base)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().expect("lock").mode = mode;
    }

    /// Signs with the other key from now on (and publishes only it).
    pub fn rotate_keys(&self) {
        let mut state = self.state.lock().expect("lock");
        state.signing = 1 - state.signing;
    }

    /// Merged into the discovery document.
    pub fn override_discovery(&self, overrides: Value) {
        self.state.lock().expect("lock").discovery_overrides = overrides;
    }

    /// Merged into the userinfo answers of sign-ins granted from now on.
    pub fn override_userinfo(&self, overrides: Value) {
        self.state.lock().expect("lock").userinfo_overrides = overrides;
    }

    pub fn discovery_fetches(&self) -> usize {
        self.state.lock().expect("lock").discovery_fetches
    }

    /// Discovery answers HTTP 503 while `failing`.
    pub fn set_discovery_failing(&self, failing: bool) {
        self.state.lock().expect("lock").discovery_failing = failing;
    }

    /// Discovery requests are counted, then wait until the hold is dropped.
    pub fn hold_discovery(&self) -> DiscoveryHold {
        let (open, waiting) = tokio::sync::watch::channel(false);
        self.state.lock().expect("lock").discovery_open = waiting;
        DiscoveryHold(open)
    }

    pub fn jwks_fetches(&self) -> usize {
        self.state.lock().expect("lock").jwks_fetches
    }

    pub fn token_calls(&self) -> usize {
        self.state.lock().expect("lock").token_calls
    }

    /// Registers what the next sign-in with this nonce and PKCE challenge
    /// yields; returns the authorization code.
    pub fn grant(&self, nonce: &str, challenge: &str, claims: Value) -> String {
        let code = format!("code-{}", rand_hex());
        let grant = Grant {
            nonce: nonce.into(),
            challenge: challenge.into(),
            claims,
        };
        self.state.lock().expect("lock").codes.insert(code.clone(), grant);
        code
    }

    /// A signed logout token (back-channel logout), with `claims` merged in.
    pub fn logout_token(&self, claims: Value) -> String {
        let now = self.clock.now();
        let mut payload = json!({
            "iss": self.base, "aud": CLIENT_ID, "iat": now, "exp": now + 120, "jti": rand_hex(),
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        });
        merge(&mut payload, claims);
        let state = self.state.lock().expect("lock");
        sign_rs256(&state.keys[state.signing], &state.kids[state.signing], &payload)
    }
}

fn rand_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Sets `extra`'s members in `target`; a null removes the member.
pub fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        for (k, v) in extra {
            if v.is_null() {
                target.remove(&k);
            } else {
                target.insert(k, v);
            }
        }
    }
}

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

fn jwt(header: &Value, payload: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

fn sign_rs256(key: &CoreRsaPrivateSigningKey, kid: &str, payload: &Value) -> String {
    let header = json!({"alg": "RS256", "kid": kid, "typ": "JWT"});
    jwt(&header, payload, |input| {
        key.sign(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, input)
            .expect("sign")
    })
}

async fn discovery(State(idp): State<FakeIdp>) -> Response {
    let mut open = {
        let mut state = idp.state.lock().expect("lock");
        state.discovery_fetches += 1;
        state.discovery_open.clone()
    };
    // The sender may be gone (hold dropped): then it is open.
    let _ = open.wait_for(|open| *open).await;
    if let Some(answer) = fault_answer(&idp, Endpoint::Discovery).await {
        return answer;
    }
    if idp.state.lock().expect("lock").discovery_failing {
        return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response();
    }
    discovery_document(&idp).into_response()
}

fn discovery_document(idp: &FakeIdp) -> Json<Value> {
    let base = &idp.base;
    let mut doc = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks"),
        "end_session_endpoint": format!("{base}/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["openid", "profile", "email", "groups"],
        "claims_supported": ["sub", "email", "email_verified", "preferred_username", "groups"],
    });
    let overrides = idp.state.lock().expect("lock").discovery_overrides.clone();
    merge(&mut doc, overrides);
    Json(doc)
}

async fn jwks(State(idp): State<FakeIdp>) -> Response {
    if let Some(answer) = fault_answer(&idp, Endpoint::Jwks).await {
        return answer;
    }
    let mut state = idp.state.lock().expect("lock");
    state.jwks_fetches += 1;
    let key = state.keys[state.signing].as_verification_key();
    Json(json!({ "keys": [key] })).into_response()
}

fn client_authenticated(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let basic = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    let post = form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    basic || post
}

async fn token(State(idp): State<FakeIdp>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    if let Some(answer) = fault_answer(&idp, Endpoint::Token).await {
        return answer;
    }
    let mut state = idp.state.lock().expect("lock");
    state.token_calls += 1;
    let bad_request = |error: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response();
    if !client_authenticated(&headers, &form) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"}))).into_response();
    }
    let Some(grant) = form.get("code").and_then(|code| state.codes.remove(code)) else {
        return bad_request("invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if b64(&sha2::Sha256::digest(verifier.as_bytes())) != grant.challenge {
        return bad_request("invalid_grant");
    }
    match state.mode {
        Mode::ErrorJson => {
            let body = json!({"error": "invalid_grant", "error_description": TOKEN_ERROR_DESCRIPTION});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
        Mode::Html500 => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>Oops</body></html>",
            )
                .into_response();
        }
        _ => {}
    }
    let access_token = format!("at-{}", rand_hex());
    let now = idp.clock.now();
    let mut payload = json!({
        "iss": idp.base, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": grant.nonce, "sub": "subject-1",
        // As a provider that has just asked for the password.
        "auth_time": now,
    });
    merge(&mut payload, grant.claims.clone());
    let mut userinfo = grant.claims.clone();
    merge(&mut userinfo, state.userinfo_overrides.clone());
    merge(&mut userinfo, json!({"sub": payload["sub"].clone()}));
    if state.mode == Mode::UserinfoSubMismatch {
        merge(&mut userinfo, json!({"sub": "somebody-else"}));
    }
    state.userinfo.insert(access_token.clone(), userinfo);
    let id_token = id_token_for(&state, &idp, payload);
    let mut body =
        json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 300, "id_token": id_token});
    if state.mode == Mode::MissingIdToken {
        merge(&mut body, json!({"id_token": null}));
    }
    Json(body).into_response()
}

fn id_token_for(state: &IdpState, idp: &FakeIdp, mut payload: Value) -> String {
    let (key, kid) = (&state.keys[state.signing], state.kids[state.signing].as_str());
    let other = &state.keys[1 - state.signing];
    let now = idp.clock.now();
    match state.mode {
        Mode::WrongIssuer => merge(&mut payload, json!({"iss": "https://evil.example"})),
        Mode::WrongAudience => merge(&mut payload, json!({"aud": "someone-else"})),
        Mode::ExtraAudienceNoAzp => merge(&mut payload, json!({"aud": [CLIENT_ID, "other-client"]})),
        Mode::ExtraAudienceWrongAzp => merge(
            &mut payload,
            json!({"aud": [CLIENT_ID, "other-client"], "azp": "other-client"}),
        ),
        Mode::ExtraAudienceRightAzp => merge(
            &mut payload,
            json!({"aud": [CLIENT_ID, "other-client"], "azp": CLIENT_ID}),
        ),
        Mode::Expired => merge(&mut payload, json!({"iat": now - 7200, "exp": now - 3600})),
        Mode::IssuedInFuture => merge(&mut payload, json!({"iat": now + 3600, "exp": now + 7200})),
        Mode::NonceMismatch => merge(&mut payload, json!({"nonce": "not-the-nonce"})),
        Mode::NonceMissing => merge(&mut payload, json!({"nonce": null})),
        _ => {}
    }
    match state.mode {
        Mode::BadSignature => {
            let header = json!({"alg": "RS256", "kid": kid, "typ": "JWT"});
            jwt(&header, &payload, |input| {
                other
                    .sign(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, input)
                    .expect("sign")
            })
        }
        Mode::UnknownKid => {
            let header = json!({"alg": "RS256", "kid": "no-such-key", "typ": "JWT"});
            jwt(&header, &payload, |input| {
                other
                    .sign(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, input)
                    .expect("sign")
            })
        }
        Mode::AlgNone => jwt(&json!({"alg": "none", "typ": "JWT"}), &payload, |_| Vec::new()),
        Mode::Hs256WithPublicKey => {
            let public = serde_json::to_vec(&key.as_verification_key()).expect("jwk");
            jwt(&json!({"alg": "HS256", "kid": kid, "typ": "JWT"}), &payload, |input| {
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&public).expect("hmac");
                mac.update(input);
                mac.finalize().into_bytes().to_vec()
            })
        }
        _ => sign_rs256(key, kid, &payload),
    }
}

async fn userinfo(State(idp): State<FakeIdp>, headers: HeaderMap) -> Response {
    if let Some(answer) = fault_answer(&idp, Endpoint::Userinfo).await {
        return answer;
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let state = idp.state.lock().expect("lock");
    match token.and_then(|t| state.userinfo.get(t)) {
        Some(claims) => Json(claims.clone()).into_response(),
        None => (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_token"}))).into_response(),
    }
}
