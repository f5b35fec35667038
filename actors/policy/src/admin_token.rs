//! The operator's admin token: who may act as [`wcc_interface::Principal::Operator`].
//!
//! Components are configured with the token's hex SHA-256 only (`admin_token_sha256`): wasmCloud
//! named config is readable by any provider through the control interface, and a hash read there
//! cannot be used to sign in. A presented token passes when its SHA-256 equals the configured
//! one, compared in constant time. The admin HTTP API and the operators' console feed both ask
//! here, so both accept exactly the same tokens.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The config key holding the hex SHA-256 of the admin token.
pub const CONFIG_KEY: &str = "admin_token_sha256";

/// Why a presented token was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No hash is configured: operator access is off until an operator opts in.
    Disabled,
    /// The configured value is not 64 hex digits.
    Misconfigured,
    /// Empty, or not the admin token.
    WrongToken,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::Disabled => "operator access disabled: no admin_token_sha256 configured",
            Refusal::Misconfigured => {
                "operator access disabled: admin_token_sha256 is not 64 hex digits"
            }
            Refusal::WrongToken => "the admin token was refused",
        })
    }
}

/// Whether `presented` is the admin token whose hash is `configured` (hex; `None` or blank when
/// unset).
pub fn check(configured: Option<&str>, presented: &[u8]) -> Result<(), Refusal> {
    let configured = configured.map(str::trim).filter(|hex| !hex.is_empty());
    let expected =
        sha256_from_hex(configured.ok_or(Refusal::Disabled)?).ok_or(Refusal::Misconfigured)?;
    // An empty token is never the admin's, whatever hash is configured.
    if presented.is_empty() || !bool::from(Sha256::digest(presented).ct_eq(&expected)) {
        return Err(Refusal::WrongToken);
    }
    Ok(())
}

/// The 32 bytes written as 64 hex digits (either case) in `hex`.
fn sha256_from_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let digit = |d: u8| char::from(d).to_digit(16).map(|v| v as u8);
    let mut hash = [0u8; 32];
    for (byte, pair) in hash.iter_mut().zip(hex.chunks(2)) {
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(token: &str) -> String {
        Sha256::digest(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn the_token_whose_hash_is_configured_passes_in_either_case_of_hex() {
        let hex = hash_of("s3cret");
        assert_eq!(check(Some(&hex), b"s3cret"), Ok(()));
        assert_eq!(
            check(Some(&format!(" {} ", hex.to_uppercase())), b"s3cret"),
            Ok(())
        );
    }

    #[test]
    fn other_and_empty_tokens_are_refused() {
        let hex = hash_of("s3cret");
        assert_eq!(check(Some(&hex), b"s3cre"), Err(Refusal::WrongToken));
        assert_eq!(check(Some(&hex), b""), Err(Refusal::WrongToken));
        // The hash itself is no token.
        assert_eq!(check(Some(&hex), hex.as_bytes()), Err(Refusal::WrongToken));
        assert_eq!(check(Some(&hash_of("")), b""), Err(Refusal::WrongToken));
    }

    #[test]
    fn no_or_malformed_config_turns_operator_access_off() {
        assert_eq!(check(None, b"x"), Err(Refusal::Disabled));
        assert_eq!(check(Some("  "), b"x"), Err(Refusal::Disabled));
        assert_eq!(check(Some("abc"), b"x"), Err(Refusal::Misconfigured));
        assert_eq!(
            check(Some(&"g".repeat(64)), b"x"),
            Err(Refusal::Misconfigured)
        );
    }
}
