//! A real OpenID Provider for end-to-end tests: `node e2e/provider/server.mjs`
//! (the `oidc-provider` npm package) started from a JSON config, plus a
//! private CA for the HTTPS case. See e2e/provider/README.md for the config.

#![allow(dead_code)] // a helper library: not every test uses every helper

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use serde_json::{Value, json};

/// How long a provider may take to print `READY`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/provider")
}

/// Installs the provider's npm dependencies (`npm ci`) once per test binary
/// when `e2e/provider/node_modules` is missing.
pub fn ensure_node_modules() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let dir = provider_dir();
        if dir.join("node_modules/oidc-provider/package.json").exists() {
            return;
        }
        let out = Command::new("npm")
            .arg("ci")
            .arg("--no-audit")
            .arg("--no-fund")
            .arg("--prefix")
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("e2e: cannot run `npm` (is Node.js installed?): {e}"));
        if !out.status.success() {
            panic!(
                "e2e: `npm ci --prefix {}` failed ({}):\n{}\n{}",
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("e2e: cannot bind a loopback port")
        .port()
}

/// A running `server.mjs`; killed on drop.
pub struct TestProvider {
    child: Child,
    port: u16,
    issuer: String,
    config: Value,
    logs: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl TestProvider {
    /// Starts a provider. `port` and `issuer` may be left out: a free port is
    /// picked and the issuer becomes `http://127.0.0.1:PORT` (or
    /// `https://localhost:PORT` when `tls` is given). Blocks until `READY`.
    pub fn start(mut config: Value) -> TestProvider {
        ensure_node_modules();
        let obj = config
            .as_object_mut()
            .expect("e2e: provider config must be a JSON object");
        let port = match obj.get("port").and_then(Value::as_u64) {
            Some(p) => u16::try_from(p).expect("e2e: port out of range"),
            None => free_port(),
        };
        obj.insert("port".into(), json!(port));
        if !obj.contains_key("issuer") {
            let issuer = if obj.contains_key("tls") {
                format!("https://localhost:{port}")
            } else {
                format!("http://127.0.0.1:{port}")
            };
            obj.insert("issuer".into(), json!(issuer));
        }
        let issuer = obj["issuer"].as_str().expect("issuer is a string").to_owned();

        let dir = tempfile::tempdir().expect("e2e: temp dir");
        let file = dir.path().join("provider.json");
        std::fs::write(&file, serde_json::to_vec_pretty(&config).unwrap()).unwrap();

        let mut child = Command::new("node")
            .arg(provider_dir().join("server.mjs"))
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("e2e: cannot run `node` (is Node.js installed?): {e}"));

        // Both pipes are drained for the whole life of the process (a full
        // pipe would block node); lines are kept for diagnostics.
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let out_logs = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("READY ") {
                    let _ = ready_tx.send(rest.to_owned());
                }
                out_logs.lock().unwrap().push(line);
            }
        });
        let err_logs = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                err_logs.lock().unwrap().push(line);
            }
        });

        let mut provider = TestProvider {
            child,
            port,
            issuer,
            config,
            logs,
            _dir: dir,
        };
        match ready_rx.recv_timeout(READY_TIMEOUT) {
            Ok(announced) => assert_eq!(announced, provider.issuer, "e2e: READY line"),
            Err(_) => {
                let status = provider.child.try_wait().ok().flatten();
                // Give the log threads a moment to collect the last lines.
                std::thread::sleep(Duration::from_millis(200));
                panic!(
                    "e2e: OpenID provider did not become ready (exit status: {status:?}); output:\n{}",
                    provider.logs()
                );
            }
        }
        provider
    }

    /// Stops this provider and starts another on the same port with
    /// `config` (its `port`/`issuer`, when absent, are kept from this one).
    /// Provider-side sessions do not survive: they live in memory.
    pub fn restart_with(self, mut config: Value) -> TestProvider {
        let port = self.port;
        let issuer = self.issuer.clone();
        drop(self);
        let obj = config.as_object_mut().expect("config is an object");
        obj.entry("port").or_insert(json!(port));
        obj.entry("issuer").or_insert(json!(issuer));
        TestProvider::start(config)
    }

    /// Restarts with the same config (keys too when `keysFile` was given).
    pub fn restart(self) -> TestProvider {
        let config = self.config.clone();
        self.restart_with(config)
    }

    /// `start` on tokio's blocking pool, so the calling runtime keeps
    /// running meanwhile (an in-process romgate keeps serving, and idle
    /// keep-alive connections to a stopped provider are noticed as closed).
    pub async fn start_async(config: Value) -> TestProvider {
        tokio::task::spawn_blocking(move || TestProvider::start(config))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// `restart_with` without blocking the runtime; prefer it whenever a
    /// client (a Browser, romgate) has already talked to this provider:
    /// with the sync version on a current-thread runtime, a pooled
    /// connection to the killed process is reused and the next request
    /// fails with "connection closed before message completed".
    pub async fn restart_with_async(self, config: Value) -> TestProvider {
        tokio::task::spawn_blocking(move || self.restart_with(config))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// `restart` without blocking the runtime.
    pub async fn restart_async(self) -> TestProvider {
        let config = self.config.clone();
        self.restart_with_async(config).await
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The full config the provider was started with (port/issuer filled in).
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// `<issuer>/.well-known/openid-configuration`.
    pub fn metadata_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'))
    }

    /// `<issuer><path>`, e.g. `url("/jwks")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer.trim_end_matches('/'))
    }

    /// Everything the process printed so far (stdout and stderr, one string).
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private CA and a leaf certificate for `localhost` and `127.0.0.1`
/// signed by it, as PEM files in a temp dir (removed on drop).
pub struct TestTls {
    dir: tempfile::TempDir,
    ca_pem: String,
}

impl TestTls {
    pub fn generate() -> TestTls {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
            KeyUsagePurpose,
        };

        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "romgate e2e test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().expect("leaf key");
        let mut leaf_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("leaf params");
        leaf_params.distinguished_name.push(DnType::CommonName, "localhost");
        leaf_params.use_authority_key_identifier_extension = true;
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf cert");

        let dir = tempfile::tempdir().expect("e2e: temp dir");
        let ca_pem = ca_cert.pem();
        std::fs::write(dir.path().join("ca.pem"), &ca_pem).unwrap();
        std::fs::write(dir.path().join("cert.pem"), leaf_cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), leaf_key.serialize_pem()).unwrap();
        TestTls { dir, ca_pem }
    }

    /// The CA certificate (what OIDC_TLS_CACERTFILE should point at).
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// The provider config's `tls` value.
    pub fn provider_tls(&self) -> Value {
        json!({ "cert": self.cert_path(), "key": self.key_path() })
    }
}

/// A ready-made config: one confidential client `romgate` / `romgate-secret`
/// redirecting to `redirect_uri`, and the account `alice` / `alice-pw`
/// (sub `alice-sub`, verified email, groups `["romm-admins"]`).
pub fn basic_config(redirect_uri: &str) -> Value {
    json!({
        "clients": [{
            "client_id": "romgate",
            "client_secret": "romgate-secret",
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "client_secret_basic",
        }],
        "accounts": [{
            "sub": "alice-sub",
            "login": "alice",
            "password": "alice-pw",
            "claims": {
                "email": "alice@example.test",
                "email_verified": true,
                "preferred_username": "alice",
                "name": "Alice Example",
                "groups": ["romm-admins"],
            },
        }],
    })
}
