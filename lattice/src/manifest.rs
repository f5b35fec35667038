//! Fills `${NAME}` and `${NAME:-default}` placeholders in `wadm.yaml`.
//!
//! The manifest names our own artifacts by file path and our listeners by address; both differ
//! between machines and test runs, so the launcher fills them in before handing the YAML to wadm.

use std::collections::HashMap;

use anyhow::{bail, Result};

/// Replaces every `${NAME}` / `${NAME:-default}` in `text`, looking names up in `vars`.
///
/// A name with neither a value nor a default is an error, so a forgotten variable never reaches
/// wadm as an empty string.
pub fn render(text: &str, vars: &HashMap<String, String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            bail!("unterminated placeholder near `{}`", &rest[start..]);
        };
        let spec = &after[..end];
        let (name, default) = match spec.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (spec, None),
        };
        match (vars.get(name), default) {
            (Some(value), _) => out.push_str(value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => bail!("manifest needs a value for ${{{name}}}"),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fills_values_and_defaults() {
        let text = "image: file://${ARTIFACTS}/x.wasm\ntoken: ${TOKEN:-dev}\n";
        let got = render(text, &vars(&[("ARTIFACTS", "/tmp/a")])).unwrap();
        assert_eq!(got, "image: file:///tmp/a/x.wasm\ntoken: dev\n");
    }

    #[test]
    fn value_beats_default() {
        let got = render("${TOKEN:-dev}", &vars(&[("TOKEN", "s3cret")])).unwrap();
        assert_eq!(got, "s3cret");
    }

    #[test]
    fn missing_value_is_an_error() {
        assert!(render("${NOPE}", &HashMap::new()).is_err());
        assert!(render("${NOPE", &HashMap::new()).is_err());
    }
}
