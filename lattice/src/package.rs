//! Packs a provider binary into a provider archive (`.par.gz`), the only form in which a
//! wasmCloud host starts a provider from a `file://` reference.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use provider_archive::ProviderArchive;
use wascap::prelude::KeyPair;

/// The target triple the host looks up for this machine (`<arch>-<os>`).
pub fn host_target() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

/// Writes `out` (a `.par.gz`) holding `binary` for this machine's target.
///
/// The archive's claims are signed with fresh keys: a local lattice trusts any issuer, and the
/// provider's identity in wcc is the name wadm gives it, not its key.
pub async fn provider(binary: &Path, name: &str, out: &Path) -> Result<()> {
    let bytes =
        std::fs::read(binary).with_context(|| format!("cannot read {}", binary.display()))?;
    let mut archive = ProviderArchive::new(
        name,
        "wcc",
        Some(1),
        Some(env!("CARGO_PKG_VERSION").to_string()),
    );
    archive
        .add_library(&host_target(), &bytes)
        .map_err(|e| anyhow!("{e}"))?;
    let issuer = KeyPair::new_account();
    let subject = KeyPair::new_service();
    archive
        .write(out, &issuer, &subject, true)
        .await
        .map_err(|e| anyhow!("cannot write {}: {e}", out.display()))
}
