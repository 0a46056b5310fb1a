//! RomM's chunked upload through a reverse proxy that caps request bodies,
//! as self-hosters run romgate: Debian's nginx in front of the real binary
//! with `client_max_body_size`. A file larger than the cap cannot come in
//! one request (the proxy answers 413 before romgate sees it); in chunks
//! under the cap it arrives whole, and downloads back through the proxy
//! byte for byte.
//!
//! CI runs it scaled down (a 1 MiB cap, 24 MiB in 768 KiB chunks). The
//! issue's case, 10 GiB through a 100 MB cap in 64 MiB chunks, is the same
//! test with three variables (see bench/README.md, "Through a proxy"):
//!
//! ```sh
//! PROXY_UPLOAD_MIB=10240 PROXY_CAP_MIB=100 PROXY_CHUNK_MIB=64 \
//!   cargo test --release --test e2e proxy_upload -- --ignored --nocapture
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;
use sha2::{Digest, Sha256};

use crate::fault_support::{PASSWORD, bearer, client, content, get, grant, upload};
use crate::provider::free_port;
use crate::romgate::RomgateServer;

const MIB: u64 = 1024 * 1024;

fn mib_from_env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Debian's nginx as a reverse proxy to `upstream`, with a body cap;
/// stopped on drop.
struct Proxy {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Proxy {
    fn start(upstream: u16, cap_mib: u64) -> Proxy {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("Debian's nginx (apt-get install nginx; .ci/run installs it)");
        let dir = tempfile::tempdir().expect("a folder for nginx");
        let port = free_port();
        let prefix = dir.path().display();
        // Everything nginx writes stays in the folder. One process, without
        // a master: killing it on drop stops nginx entirely (a killed master
        // leaves its worker running, holding the port).
        let config = format!(
            "master_process off;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n\
               fastcgi_temp_path {prefix}/f; uwsgi_temp_path {prefix}/u; scgi_temp_path {prefix}/s;\n\
               server {{\n    listen 127.0.0.1:{port};\n    client_max_body_size {cap_mib}m;\n\
                 location / {{ proxy_pass http://127.0.0.1:{upstream}; proxy_read_timeout 600s; }}\n  }}\n}}\n"
        );
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config).expect("nginx.conf");
        let child = Command::new(nginx)
            .args(["-p", &prefix.to_string(), "-c"])
            .arg(&config_path)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not listen on {port}");
            std::thread::sleep(Duration::from_millis(25));
        }
        Proxy { child, port, _dir: dir }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Chunk `index` of the file: a 1 MiB pattern, each MiB stamped with its
/// chunk and position, so a chunk out of place or a MiB lost changes the
/// hash.
fn chunk(pattern: &[u8], index: u64, len: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len as usize);
    let mut mib = 0u64;
    while (bytes.len() as u64) < len {
        let start = bytes.len();
        let take = (len - start as u64).min(MIB) as usize;
        bytes.extend_from_slice(&pattern[..take]);
        let stamp = [index.to_le_bytes(), mib.to_le_bytes()].concat();
        let end = (start + stamp.len()).min(bytes.len());
        bytes[start..end].copy_from_slice(&stamp[..end - start]);
        mib += 1;
    }
    bytes
}

/// What the proxy answers a single request announcing `length` bytes of
/// body: its status line (it answers from the headers, unread body and all).
fn status_for_announced_body(proxy: &Proxy, token: &str, length: u64) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", proxy.port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    write!(
        stream,
        "POST /api/roms HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n",
        bearer(token)
    )
    .expect("headers");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    answer.lines().next().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Debian's nginx; run with --ignored"]
async fn a_file_larger_than_the_proxys_body_cap_arrives_whole_in_chunks() {
    let total = mib_from_env("PROXY_UPLOAD_MIB", 24) * MIB;
    let cap_mib = mib_from_env("PROXY_CAP_MIB", 1);
    let chunk_size = std::env::var("PROXY_CHUNK_MIB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(768 * 1024, |mib| mib * MIB);
    assert!(chunk_size < cap_mib * MIB && total > cap_mib * MIB);
    let max_upload = (total + MIB).to_string();
    let server = RomgateServer::start(free_port(), &[("ROMGATE_MAX_UPLOAD_BYTES", max_upload.as_str())]);
    server.cli(
        &["user", "create", "root", "--role", "admin", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let proxy = Proxy::start(server.port, cap_mib);
    let base = proxy.base();
    let (token, _) = grant(&client(), &base, "root")
        .await
        .expect("a token through the proxy");

    // A request under the cap passes; one announcing more is refused by
    // the proxy itself.
    let small = upload(&client(), &base, &token, "snes", "small.sfc", &content(1, 4096)).await;
    assert_eq!(small.status, StatusCode::CREATED, "{}", small.text);
    let whole = status_for_announced_body(&proxy, &token, total);
    assert!(whole.contains(" 413 "), "the proxy caps bodies: {whole}");
    let platform_id = small.json["platform_id"].as_i64().expect("platform_id");

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .expect("a client");
    let chunks = total.div_ceil(chunk_size);
    let started = http
        .post(format!("{base}/api/roms/upload/start"))
        .header(AUTHORIZATION, bearer(&token))
        .header("x-upload-platform", platform_id.to_string())
        .header("x-upload-filename", "big game (disc 1).iso")
        .header("x-upload-total-size", total.to_string())
        .header("x-upload-total-chunks", chunks.to_string())
        .send()
        .await
        .expect("start");
    assert_eq!(started.status(), StatusCode::CREATED);
    let id = started.json::<serde_json::Value>().await.expect("json")["upload_id"]
        .as_str()
        .expect("upload_id")
        .to_string();

    let pattern = content(15, MIB as usize);
    let mut sent = Sha256::new();
    let began = Instant::now();
    for index in 0..chunks {
        let len = (total - index * chunk_size).min(chunk_size);
        let body = chunk(&pattern, index, len);
        sent.update(&body);
        let answer = http
            .put(format!("{base}/api/roms/upload/{id}"))
            .header(AUTHORIZATION, bearer(&token))
            .header("x-chunk-index", index.to_string())
            .body(body)
            .send()
            .await
            .expect("a chunk through the proxy");
        assert!(answer.status().is_success(), "chunk {index}: {}", answer.status());
    }
    let completed = http
        .post(format!("{base}/api/roms/upload/{id}/complete"))
        .header(AUTHORIZATION, bearer(&token))
        .send()
        .await
        .expect("complete");
    assert_eq!(completed.status(), StatusCode::CREATED);
    let rom: serde_json::Value = completed.json().await.expect("the ROM");
    let uploaded = began.elapsed();
    assert_eq!(rom["fs_size_bytes"].as_u64(), Some(total), "{rom}");
    let sent = hex::encode(sent.finalize());
    assert_eq!(rom["sha256"].as_str(), Some(sent.as_str()), "{rom}");

    // Back through the proxy, byte for byte.
    let rom_id = rom["id"].as_i64().expect("id");
    let listed = get(&client(), &base, &format!("/api/roms/{rom_id}"), &token).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let mut download = http
        .get(format!("{base}/api/roms/{rom_id}/content/big%20game%20(disc%201).iso"))
        .header(AUTHORIZATION, bearer(&token))
        .send()
        .await
        .expect("download");
    assert_eq!(download.status(), StatusCode::OK);
    let mut received = Sha256::new();
    let mut length = 0u64;
    while let Some(bytes) = download.chunk().await.expect("the body") {
        length += bytes.len() as u64;
        received.update(&bytes);
    }
    assert_eq!(length, total);
    assert_eq!(hex::encode(received.finalize()), sent);
    println!(
        "{} MiB through a {cap_mib} MiB cap in {chunks} chunks: uploaded and assembled in {:.1} s",
        total / MIB,
        uploaded.as_secs_f64()
    );
}
