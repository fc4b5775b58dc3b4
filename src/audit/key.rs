//! The installation's seal key: an Ed25519 key pair (ed25519-dalek), the
//! private half a 32-byte seed in a text file readable by its owner only
//! (mode 0600), created on first use.
//!
//! Where: `--key PATH` / `BANGFU_SEAL_KEY`; else next to a SQLite store
//! (`<db file>.seal-key`), or `bangfu-seal.key` in the working directory for
//! a server store. The public key is what gets published with the seals.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use super::AuditError;

const HEADER: &str = "# bangfu audit seal key: Ed25519 private key (hex seed). Keep it secret.\n";

/// The key's default place for a store.
pub fn default_path(store: &crate::store::AnyStore) -> PathBuf {
    match store.as_sqlite() {
        Some(_) => {
            let mut name = store.path().as_os_str().to_os_string();
            name.push(".seal-key");
            PathBuf::from(name)
        }
        None => PathBuf::from("bangfu-seal.key"),
    }
}

/// The installation's signing key.
#[derive(Debug)]
pub struct SealKey {
    signing: SigningKey,
}

impl SealKey {
    /// Reads the key at `path`, or creates it there (mode 0600) if absent.
    pub fn load_or_create(path: &Path) -> Result<SealKey, AuditError> {
        if path.exists() {
            return SealKey::load(path);
        }
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)
            .map_err(|e| AuditError::Key(path.to_path_buf(), e.to_string()))?;
        let key = SealKey {
            signing: SigningKey::from_bytes(&seed),
        };
        key.write_new(path)?;
        Ok(key)
    }

    /// Reads the key at `path`; refuses a file others may read.
    pub fn load(path: &Path) -> Result<SealKey, AuditError> {
        let fail = |why: String| AuditError::Key(path.to_path_buf(), why);
        check_private(path).map_err(fail)?;
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| fail("no key in the file".into()))?;
        let seed: [u8; 32] = hex::decode(line)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| fail("not 64 hex digits".into()))?;
        Ok(SealKey {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    fn write_new(&self, path: &Path) -> Result<(), AuditError> {
        let fail = |e: std::io::Error| AuditError::Key(path.to_path_buf(), e.to_string());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(fail)?;
        let body = format!("{HEADER}{}\n", hex::encode(self.signing.to_bytes()));
        file.write_all(body.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)
    }

    /// The public key.
    pub fn public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public key as 64 hex digits.
    pub fn public_hex(&self) -> String {
        hex::encode(self.public().to_bytes())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| e.to_string())?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "mode {:o} lets others read the private key; chmod 600 it",
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), String> {
    Ok(())
}

/// A public key from 64 hex digits.
pub fn parse_public(hex_text: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_text.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k").join("seal.key");
        let key = SealKey::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = SealKey::load_or_create(&path).unwrap();
        assert_eq!(key.public_hex(), again.public_hex());
        assert_eq!(parse_public(&key.public_hex()), Some(key.public()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let refused = SealKey::load(&path).unwrap_err().to_string();
            assert!(refused.contains("chmod 600"), "{refused}");
        }
    }
}
