//! Sealed cache files: every cache entry the plugin replays (result packs,
//! browser results, the chapter cache, the book cache, interpreter memos)
//! is written with a keyed BLAKE3 hash of its bytes in front, and read back
//! only when that hash verifies. The key is 32 random bytes made once per
//! user in `~/.cache/mdbook-python/seal-key` (mode 0600), outside every book
//! and cache folder. Snippets cannot write there, nor into the cache folder
//! (the worker's Landlock domain lets a job write only its private folder),
//! so they can neither forge an entry nor replace the key; and an entry that
//! was damaged, cut short, edited or copied from elsewhere is simply a miss,
//! which the build heals by running again and writing it anew.
//!
//! CI runners that share one cache (`check --shard K/N` on several machines,
//! their `results/` folders merged) share a key instead: the environment
//! variable `MDBOOK_PYTHON_SEAL_KEY` (a secret of at least 32 characters)
//! replaces the per-user key, so packs sealed on one runner verify on the
//! others, and only there (see the guide's sandbox page for the trust model).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const MAGIC: &[u8] = b"mdbook-python sealed ";

/// The user's key, made on first use. Where no key can be kept, a key for
/// this process alone: caches then never verify across builds (every build
/// runs everything), which is slow but never wrong.
fn key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        match std::env::var(SHARED_KEY_VAR) {
            Ok(secret) if !secret.trim().is_empty() => match shared_key(&secret) {
                Ok(key) => return key,
                Err(why) => eprintln!("mdbook-python: {SHARED_KEY_VAR} is ignored: {why}"),
            },
            _ => {}
        }
        let path = key_path();
        path.as_deref()
            .and_then(read_key)
            .or_else(|| {
                let key = fresh_key()?;
                let path = path?;
                std::fs::create_dir_all(path.parent()?).ok()?;
                store_key(&path, &key).ok()?;
                // Two builds may race to make it: the one on disk wins.
                read_key(&path)
            })
            .or_else(fresh_key)
            .unwrap_or_else(|| {
                *blake3::hash(format!("{:?}", std::time::SystemTime::now()).as_bytes()).as_bytes()
            })
    })
}

/// The environment variable naming a seal key shared by several machines.
pub(crate) const SHARED_KEY_VAR: &str = "MDBOOK_PYTHON_SEAL_KEY";

/// The key derived from a shared secret (any text of 32 characters or more,
/// e.g. `openssl rand -hex 32`; surrounding whitespace is ignored).
fn shared_key(secret: &str) -> Result<[u8; 32], String> {
    let secret = secret.trim();
    if secret.chars().count() < 32 {
        return Err(format!(
            "it holds {} characters, and a shared seal key needs at least 32 (make one with `openssl rand -hex 32`); this build uses the per-user key",
            secret.chars().count()
        ));
    }
    Ok(blake3::derive_key(
        "mdbook-python 2026 shared seal key",
        secret.as_bytes(),
    ))
}

fn key_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("mdbook-python").join("seal-key"))
}

fn read_key(path: &Path) -> Option<[u8; 32]> {
    std::fs::read(path).ok()?.try_into().ok()
}

fn fresh_key() -> Option<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).ok()?;
    Some(key)
}

/// Create the key file, readable and writable by its owner only, without
/// replacing one that exists.
fn store_key(path: &Path, key: &[u8; 32]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(key)?;
    f.sync_all()
}

fn tag(payload: &[u8]) -> blake3::Hash {
    blake3::keyed_hash(key(), payload)
}

/// `payload` with its seal in front.
pub(crate) fn seal(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 86);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(tag(payload).to_hex().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload);
    out
}

/// The payload of sealed `bytes`, when the seal verifies (in constant time).
pub(crate) fn open(mut bytes: Vec<u8>) -> Option<Vec<u8>> {
    let header = MAGIC.len() + 65;
    if bytes.len() < header || !bytes.starts_with(MAGIC) || bytes[header - 1] != b'\n' {
        return None;
    }
    let hex = std::str::from_utf8(&bytes[MAGIC.len()..header - 1]).ok()?;
    let claimed = blake3::Hash::from_hex(hex).ok()?;
    bytes.drain(..header);
    (tag(&bytes) == claimed).then_some(bytes)
}

/// Write `payload` sealed, atomically.
pub(crate) fn write(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    super::cache::write_atomically(path, &seal(payload))
}

/// Read a sealed file's payload; `None` when missing, damaged or forged.
pub(crate) fn read(path: &Path) -> Option<Vec<u8>> {
    open(std::fs::read(path).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_verifies_only_its_own_bytes() {
        let sealed = seal(b"{\"k\": 1}");
        assert_eq!(open(sealed.clone()).as_deref(), Some(&b"{\"k\": 1}"[..]));
        let mut changed = sealed.clone();
        *changed.last_mut().unwrap() = b'2';
        assert_eq!(open(changed), None, "an edited payload");
        assert_eq!(open(sealed[..sealed.len() - 1].to_vec()), None, "cut short");
        assert_eq!(open(b"{\"k\": 1}".to_vec()), None, "never sealed");
        // A seal made with another key (a forger's) does not verify.
        let forged_tag = blake3::keyed_hash(&[7u8; 32], b"{\"k\": 1}");
        let mut forged = MAGIC.to_vec();
        forged.extend_from_slice(forged_tag.to_hex().as_bytes());
        forged.extend_from_slice(b"\n{\"k\": 1}");
        assert_eq!(open(forged), None, "another key");
    }

    #[test]
    fn a_shared_secret_gives_one_key_and_a_short_one_none() {
        let secret = "0123456789abcdef0123456789abcdef";
        assert_eq!(shared_key(secret), shared_key(&format!(" {secret}\n")));
        assert_ne!(shared_key(secret), shared_key(&secret.replace('0', "1")));
        let short = shared_key("hunter2").unwrap_err();
        assert!(short.contains("at least 32"), "{short}");
    }
}
