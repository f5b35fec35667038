//! The two secrets a wcc lattice needs, and where the launcher keeps them.
//!
//! - the **admin token**, the bearer token of the rooms actor's admin HTTP API;
//! - the **subscription key**, which the rooms actor signs subscription grants with and the
//!   gateways verify them with (`wcc_interface::grant`).
//!
//! wasmCloud named config is readable by any provider through the control interface, so the
//! manifest carries only the admin token's SHA-256 (`WCC_ADMIN_TOKEN_SHA256`), which cannot be
//! used to sign in. The token itself stays in the state folder, `secrets/admin-token` (0600, in
//! a 0700 folder), created on first start and reused after. The subscription key is internal:
//! nobody types it, so it is generated the same way (`secrets/subscription-key`). A caller that
//! passes either as a manifest var chooses it instead, and no file is written for it.

use std::{
    collections::HashMap,
    fs,
    io::{ErrorKind, Read, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// The admin API's bearer token, as a manifest var (never placed in the manifest itself).
pub const ADMIN_TOKEN: &str = "WCC_ADMIN_TOKEN";
/// The hex SHA-256 of [`ADMIN_TOKEN`]: what the rooms actor's config holds.
pub const ADMIN_TOKEN_SHA256: &str = "WCC_ADMIN_TOKEN_SHA256";
/// The key of subscription grants, shared by the rooms actor and the gateways.
pub const SUBSCRIPTION_KEY: &str = "WCC_SUBSCRIPTION_KEY";

/// Random bytes in a generated secret (written as twice as many hex digits).
const SECRET_BYTES: usize = 32;

/// The folder holding the generated secrets.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("secrets")
}

/// Where `up` keeps the admin token it generated.
pub fn admin_token_path(state_dir: &Path) -> PathBuf {
    dir(state_dir).join("admin-token")
}

/// Where `up` keeps the subscription key it generated.
pub fn subscription_key_path(state_dir: &Path) -> PathBuf {
    dir(state_dir).join("subscription-key")
}

/// Which secrets came from files in the state folder (`None`: the caller passed the var).
#[derive(Debug, Default, PartialEq)]
pub struct Sources {
    pub admin_token: Option<PathBuf>,
    pub subscription_key: Option<PathBuf>,
}

/// Fills `vars` for a lattice whose state lives in `state_dir`: the admin token and the
/// subscription key from the vars if given, else from their files (created on first use), and
/// the token's hash, which is what the manifest uses.
pub fn fill(vars: &mut HashMap<String, String>, state_dir: &Path) -> Result<Sources> {
    let mut sources = Sources::default();
    if !vars.contains_key(ADMIN_TOKEN) {
        let path = admin_token_path(state_dir);
        vars.insert(ADMIN_TOKEN.into(), load_or_create(&path)?);
        sources.admin_token = Some(path);
    }
    if !vars.contains_key(SUBSCRIPTION_KEY) {
        let path = subscription_key_path(state_dir);
        vars.insert(SUBSCRIPTION_KEY.into(), load_or_create(&path)?);
        sources.subscription_key = Some(path);
    }
    hash_admin_token(vars)?;
    Ok(sources)
}

/// Fills `vars` for `render`, which has no state folder: the caller must choose the admin token
/// (they will need it to use the API); a missing subscription key is generated afresh.
pub fn fill_for_render(vars: &mut HashMap<String, String>) -> Result<()> {
    if !vars.contains_key(ADMIN_TOKEN) {
        bail!(
            "render needs the admin token: pass --var {ADMIN_TOKEN}=<token> \
             (e.g. `openssl rand -hex 32`); the manifest carries only its SHA-256"
        );
    }
    if !vars.contains_key(SUBSCRIPTION_KEY) {
        vars.insert(SUBSCRIPTION_KEY.into(), generate()?);
    }
    hash_admin_token(vars)
}

/// Sets [`ADMIN_TOKEN_SHA256`] from [`ADMIN_TOKEN`], refusing an empty token.
fn hash_admin_token(vars: &mut HashMap<String, String>) -> Result<()> {
    let token = vars.get(ADMIN_TOKEN).map(String::as_str).unwrap_or("");
    if token.is_empty() {
        bail!("{ADMIN_TOKEN} is empty");
    }
    let hash = sha256_hex(token);
    vars.insert(ADMIN_TOKEN_SHA256.into(), hash);
    Ok(())
}

/// The admin token a client should present: `given` (a flag or `WCC_ADMIN_TOKEN`) if set, else
/// the one `up` generated in `state_dir`.
pub fn client_admin_token(given: Option<String>, state_dir: &Path) -> Result<String> {
    if let Some(token) = given.filter(|t| !t.is_empty()) {
        return Ok(token);
    }
    let path = admin_token_path(state_dir);
    match read(&path) {
        Ok(token) => Ok(token),
        Err(e) if e.kind() == ErrorKind::NotFound => bail!(
            "no admin token: pass --token or set {ADMIN_TOKEN}, or point --state-dir at the \
             state folder of `wcc-lattice up` (no {} there)",
            path.display()
        ),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Lowercase hex of the SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// 32 random bytes from the kernel, as 64 hex digits.
pub fn generate() -> Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("cannot read /dev/urandom")?;
    Ok(hex(&bytes))
}

/// The secret in `path`, generated and written (mode 0600, folder 0700) if there is none.
pub fn load_or_create(path: &Path) -> Result<String> {
    let folder = path.parent().context("a secret's path needs a folder")?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    // An older or hand-made folder may be looser; it holds only secrets.
    fs::set_permissions(folder, fs::Permissions::from_mode(0o700))?;
    match read(path) {
        Ok(secret) => return Ok(secret),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    // Written whole under a temporary name, then linked into place: a second launcher starting
    // at the same moment either wins the link or reads the winner's complete file.
    let secret = generate()?;
    let temporary = folder.join(format!(".new-{}", std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| file.write_all(secret.as_bytes()));
    let linked = written.and_then(|()| fs::hard_link(&temporary, path));
    let _ = fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(secret),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            read(path).with_context(|| format!("cannot read {}", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}

/// A secret file's content without surrounding whitespace (an editor may add a newline); an
/// empty file is an error, never an empty secret. Tightens a file others could read to 0600.
fn read(path: &Path) -> std::io::Result<String> {
    let secret = fs::read_to_string(path)?.trim().to_string();
    if secret.is_empty() {
        return Err(std::io::Error::new(
            ErrorKind::InvalidData,
            "the file is empty",
        ));
    }
    if fs::metadata(path)?.permissions().mode() & 0o077 != 0 {
        tracing::warn!("{} was readable by others; now 0600", path.display());
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(secret)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
