//! Actions: their params checked with upstream's words, `status`, and `documentation`.

use anyhow::Result;
use serde_json::json;

use crate::support::assert_failed;
use crate::Clients;

/// Actions check their params with upstream's words; `status` answers with the server's id,
/// and `documentation` names each action's required inputs.
pub(crate) async fn actions_check_their_params_and_describe_themselves(
    clients: &mut Clients,
) -> Result<()> {
    let Clients {
        tel,
        tel_connection,
        ..
    } = clients;
    assert_failed(
        &tel.request(r#"{"action":"register","params":{"login":"bo"}}"#)
            .await?,
        "Error: password is a required parameter for this action",
    );
    let status = tel.request("status").await?;
    assert!(
        tel_connection.starts_with(&format!("{}-", status["id"].as_str().unwrap())),
        "{status}"
    );
    let documented = tel.request("documentation").await?;
    assert_eq!(
        documented["data"]["login"]["1"]["inputs"]["required"],
        json!(["login", "password"])
    );
    Ok(())
}
