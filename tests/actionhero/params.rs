//! A connection's params: set, read and deleted, with the line client's verbs and in the
//! websocket client's JSON form.

use anyhow::Result;
use serde_json::json;

use crate::support::assert_ok;
use crate::Clients;

/// Params, with the line client's verbs.
pub(crate) async fn params_with_the_line_clients_verbs(clients: &mut Clients) -> Result<()> {
    let Clients { tel, .. } = clients;
    assert_ok(&tel.request("paramAdd colour=blue").await?);
    assert_ok(&tel.request("paramAdd size 10").await?);
    assert_eq!(tel.request("paramView colour").await?["data"], "blue");
    assert_eq!(
        tel.request("paramsView").await?["data"],
        json!({"colour": "blue", "size": "10", "limit": 100, "offset": 0})
    );
    assert_ok(&tel.request("paramDelete colour").await?);
    // Upstream's `data` for a key never added is undefined: no `data` at all.
    assert!(tel.request("paramView colour").await?.get("data").is_none());
    assert_ok(&tel.request("paramsDelete").await?);
    assert_eq!(tel.request("paramsView").await?["data"], json!({}));
    Ok(())
}

/// The rest of the verbs in the websocket client's JSON form: params.
pub(crate) async fn params_in_the_websocket_clients_json_form(clients: &mut Clients) -> Result<()> {
    let Clients { web, .. } = clients;
    assert_ok(
        &web.request(r#"{"event":"paramAdd","key":"k","value":"v"}"#)
            .await?,
    );
    assert_eq!(
        web.request(r#"{"event":"paramView","key":"k"}"#).await?["data"],
        "v"
    );
    assert_eq!(
        web.request(r#"{"event":"paramsView"}"#).await?["data"],
        json!({"k": "v", "limit": 100, "offset": 0})
    );
    assert_ok(&web.request(r#"{"event":"paramDelete","key":"k"}"#).await?);
    assert_ok(&web.request(r#"{"event":"paramsDelete"}"#).await?);
    assert_eq!(
        web.request(r#"{"event":"paramsView"}"#).await?["data"],
        json!({})
    );
    Ok(())
}
