//! Password hashing: argon2id behind a policy (cheap parameters in tests,
//! OWASP's in production), RomM's bcrypt hashes verified and flagged for
//! upgrade, and all hashing run off the async workers with bounded
//! concurrency so logins never stall other requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use tokio::sync::Semaphore;

use super::hash_memory::{Lease, WorkingMemory};
use crate::error::AppError;
use crate::secret::Secret;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl PasswordPolicy {
    /// OWASP's recommendation for argon2id (19 MiB, 2 passes, 1 lane).
    pub const PRODUCTION: PasswordPolicy = PasswordPolicy {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };
    /// The cheapest valid parameters: for tests only.
    pub const FAST_INSECURE: PasswordPolicy = PasswordPolicy {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
}

/// The result of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Mismatch,
    /// Correct; `rehash` when the stored hash is bcrypt or has outdated
    /// parameters.
    Match {
        rehash: bool,
    },
}

#[derive(Clone)]
pub struct Passwords {
    policy: PasswordPolicy,
    argon: Argon2<'static>,
    permits: Arc<Semaphore>,
    memory: Arc<WorkingMemory>,
    /// Checked instead when the user is unknown, so both cost the same.
    dummy_hash: Arc<String>,
    /// Hashes computed (made or checked) since start: what a cache in
    /// front of the checks must save, as tests and benchmarks read it.
    computed: Arc<AtomicU64>,
}

impl Passwords {
    pub fn new(policy: PasswordPolicy) -> Result<Self, AppError> {
        let params = Params::new(policy.memory_kib, policy.iterations, policy.parallelism, None)
            .map_err(|e| AppError::internal(format!("argon2 parameters: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = dummy_hash(&argon)?;
        let lanes = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self {
            policy,
            argon,
            permits: Arc::new(Semaphore::new(lanes)),
            memory: Arc::new(WorkingMemory::default()),
            dummy_hash: Arc::new(dummy_hash),
            computed: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn policy(&self) -> PasswordPolicy {
        self.policy
    }

    /// How many hashes were computed (made or checked, real or dummy) so far.
    pub fn hashes_computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// A fresh argon2id hash in PHC format.
    pub async fn hash(&self, password: &Secret) -> Result<String, AppError> {
        let argon = self.argon.clone();
        let password = password.clone();
        self.off_thread(move |lease| hash_with(&argon, password.expose(), lease))
            .await?
    }

    /// Checks `password` against `stored` (argon2 PHC or bcrypt). A missing
    /// hash (unknown user, or an account without a password) costs the same
    /// as a real check and never matches.
    pub async fn verify(&self, password: &Secret, stored: Option<&str>) -> Result<Verdict, AppError> {
        let policy = self.policy;
        let password = password.clone();
        let (stored, real) = match stored {
            Some(hash) => (hash.to_string(), true),
            None => (self.dummy_hash.as_str().to_string(), false),
        };
        let verdict = self
            .off_thread(move |lease| verify_with(policy, password.expose(), &stored, lease))
            .await?;
        Ok(if real { verdict } else { Verdict::Mismatch })
    }

    /// Runs `work` on a blocking thread once one of the lanes is free, with
    /// working memory reused within a burst of logins (see `hash_memory`).
    async fn off_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Lease) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        self.computed.fetch_add(1, Ordering::Relaxed);
        let ticket = self.memory.ticket();
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        tokio::task::spawn_blocking(move || ticket.run(work))
            .await
            .map_err(AppError::internal)
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str, lease: &mut Lease) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut out,
            lease.blocks(argon.params().block_count()),
        )
        .map_err(|e| AppError::internal(format!("argon2: {e}")))?;
    phc_string(argon, &salt, &out)
}

/// A hash with the policy's parameters and random salt and output, which no
/// password matches: checking against it costs what a real check costs, and
/// making it costs nothing (computing a real one took 30 ms of every start).
fn dummy_hash(argon: &Argon2<'_>) -> Result<String, AppError> {
    let mut bytes = [0u8; 16 + Params::DEFAULT_OUTPUT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let (salt, out) = bytes.split_at(16);
    phc_string(argon, salt, out)
}

/// The PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
fn phc_string(argon: &Argon2<'_>, salt: &[u8], out: &[u8]) -> Result<String, AppError> {
    let err = |e: argon2::password_hash::Error| AppError::internal(format!("argon2: {e}"));
    let salt = SaltString::encode_b64(salt).map_err(err)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(err)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(out).map_err(err)?),
    };
    Ok(phc.to_string())
}

fn verify_with(policy: PasswordPolicy, password: &str, stored: &str, lease: &mut Lease) -> Verdict {
    if is_bcrypt(stored) {
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verdict::Match { rehash: true },
            _ => Verdict::Mismatch,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verdict::Mismatch;
    };
    if !argon2_matches(&parsed, password, lease) {
        return Verdict::Mismatch;
    }
    Verdict::Match {
        rehash: is_outdated(&parsed, policy),
    }
}

/// Recomputes an argon2 PHC hash with its own algorithm, version, parameters
/// and salt, and compares the outputs in constant time.
fn argon2_matches(parsed: &PasswordHash<'_>, password: &str, lease: &mut Lease) -> bool {
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let memory = lease.blocks(params.block_count());
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    if argon
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, memory)
        .is_err()
    {
        return false;
    }
    Output::new(&out).is_ok_and(|computed| computed == expected)
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|prefix| stored.starts_with(prefix))
}

fn is_outdated(parsed: &PasswordHash<'_>, policy: PasswordPolicy) -> bool {
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return true;
    }
    match Params::try_from(parsed) {
        Ok(params) => {
            params.m_cost() != policy.memory_kib
                || params.t_cost() != policy.iterations
                || params.p_cost() != policy.parallelism
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        Secret::new(s)
    }

    #[tokio::test]
    async fn argon2id_hash_verifies_and_rejects_other_passwords() {
        let passwords = Passwords::new(PasswordPolicy::FAST_INSECURE).expect("valid policy");
        let hash = passwords.hash(&secret("correct horse")).await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(
            passwords
                .verify(&secret("correct horse"), Some(&hash))
                .await
                .expect("verify"),
            Verdict::Match { rehash: false }
        );
        assert_eq!(
            passwords.verify(&secret("wrong"), Some(&hash)).await.expect("verify"),
            Verdict::Mismatch
        );
    }

    #[tokio::test]
    async fn hashes_are_interchangeable_with_the_argon2_crates_own() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let policy = PasswordPolicy::FAST_INSECURE;
        let passwords = Passwords::new(policy).expect("valid policy");
        let params = Params::new(policy.memory_kib, policy.iterations, policy.parallelism, None).expect("params");
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        let theirs = argon.hash_password(b"pw", &salt).expect("hash").to_string();
        assert_eq!(
            passwords.verify(&secret("pw"), Some(&theirs)).await.expect("verify"),
            Verdict::Match { rehash: false }
        );
        let ours = passwords.hash(&secret("pw")).await.expect("hash");
        let parsed = PasswordHash::new(&ours).expect("PHC");
        assert!(argon.verify_password(b"pw", &parsed).is_ok());
        assert!(argon.verify_password(b"other", &parsed).is_err());
    }

    #[tokio::test]
    async fn bcrypt_hashes_from_romm_verify_and_ask_for_an_upgrade() {
        let passwords = Passwords::new(PasswordPolicy::FAST_INSECURE).expect("valid policy");
        let bcrypt_hash = bcrypt::hash("hunter22", 4).expect("bcrypt");
        assert_eq!(
            passwords
                .verify(&secret("hunter22"), Some(&bcrypt_hash))
                .await
                .expect("verify"),
            Verdict::Match { rehash: true }
        );
        assert_eq!(
            passwords
                .verify(&secret("hunter2"), Some(&bcrypt_hash))
                .await
                .expect("verify"),
            Verdict::Mismatch
        );
    }

    #[tokio::test]
    async fn hashes_with_other_parameters_ask_for_an_upgrade() {
        let old = Passwords::new(PasswordPolicy {
            memory_kib: 16,
            iterations: 1,
            parallelism: 1,
        })
        .expect("policy");
        let current = Passwords::new(PasswordPolicy::FAST_INSECURE).expect("policy");
        let hash = old.hash(&secret("pw")).await.expect("hash");
        assert_eq!(
            current.verify(&secret("pw"), Some(&hash)).await.expect("verify"),
            Verdict::Match { rehash: true }
        );
    }

    #[tokio::test]
    async fn a_missing_or_garbage_hash_never_matches() {
        let passwords = Passwords::new(PasswordPolicy::FAST_INSECURE).expect("valid policy");
        assert_eq!(
            passwords
                .verify(&secret("romgate dummy password"), None)
                .await
                .expect("verify"),
            Verdict::Mismatch
        );
        assert_eq!(
            passwords
                .verify(&secret("x"), Some("not a hash"))
                .await
                .expect("verify"),
            Verdict::Mismatch
        );
    }
}
