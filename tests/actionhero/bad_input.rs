//! Bad input: unknown verbs and actions, lines that are no request, no UTF-8 text or over the
//! server's limit each get an error line, and the connection survives them all.

use anyhow::Result;

use crate::support::{assert_failed, assert_ok};
use crate::Clients;

/// Bad lines get an error line; the connection survives them all.
pub(crate) async fn bad_lines_get_an_error_line(clients: &mut Clients) -> Result<()> {
    let Clients { tel, .. } = clients;
    let unknown = tel.request("fly away").await?;
    assert_eq!(
        unknown.as_object().unwrap().len(),
        3,
        "error, context, messageCount: {unknown}"
    );
    assert_failed(
        &unknown,
        "Error: fly is not a known action or that is not a valid apiVersion.",
    );
    assert_failed(
        &tel.request(r#"{"action":"fly"}"#).await?,
        "Error: fly is not a known action or that is not a valid apiVersion.",
    );
    // A line that is neither a verb nor a JSON request names an action, as upstream reads it.
    assert_failed(
        &tel.request("{not json").await?,
        "Error: {not is not a known action or that is not a valid apiVersion.",
    );
    Ok(())
}

/// Lines that are no UTF-8 text or over the server's limit get an error line, on both
/// transports; the connection goes on and counts every one.
pub(crate) async fn garbage_and_overlong_lines_get_an_error_line(
    clients: &mut Clients,
) -> Result<()> {
    let Clients { tel, web, .. } = clients;
    tel.send_bytes(b"\xff\xfe garbage\r\n").await?;
    assert_failed(&tel.response().await?, "lines must be UTF-8 text");
    let long = "say ".to_owned() + &"x".repeat(1_100_000);
    let response = tel.request(&long).await?;
    assert!(
        response["error"]
            .as_str()
            .unwrap()
            .contains("over the server's limit"),
        "{response}"
    );
    web.send_bytes(&[0, 159, 146, 150]).await?;
    assert_failed(&web.response().await?, "lines must be UTF-8 text");
    let response = tel.request("paramsView").await?;
    assert_ok(&response);
    assert!(
        response["messageCount"].as_u64().unwrap() > 20,
        "{response}"
    );
    Ok(())
}
