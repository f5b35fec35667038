//! What the steps share: the shapes of answers (accepted, refused, failed), a connection's
//! details, and the guest it acts as before it logs in.

use anyhow::Result;
use serde_json::Value;

use crate::common::actionhero::Actionhero;

pub(crate) fn assert_ok(response: &Value) {
    assert_eq!(response["status"], "OK", "{response}");
}

/// A refused verb: upstream puts the refusal in `status`.
pub(crate) fn assert_refused(response: &Value, text: &str) {
    assert_eq!(response["status"], text, "{response}");
    assert_eq!(response["context"], "response", "{response}");
}

/// A failed action (or a line that is no request): upstream puts the failure in `error`.
pub(crate) fn assert_failed(response: &Value, text: &str) {
    assert_eq!(response["error"], text, "{response}");
    assert_eq!(response["context"], "response", "{response}");
}

/// The user a connection acts as before it logs in: its guest, named after it.
pub(crate) fn guest_of(details: &Value) -> String {
    format!("guest-{}", details["id"].as_str().unwrap())
}

pub(crate) async fn details(client: &mut Actionhero) -> Result<Value> {
    let response = client.request("detailsView").await?;
    assert_ok(&response);
    Ok(response["data"].clone())
}
