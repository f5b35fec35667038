//! The operator API: rooms added over admin HTTP, a member moved between rooms, a line
//! written to one connection, and the `wcc-lattice admin` CLI speaking the same API.

use anyhow::Result;
use serde_json::{json, Value};

use crate::common::{self, Wcc};
use crate::support::assert_ok;
use crate::Clients;

/// Runs `wcc-lattice admin <args>` against this lattice's admin API.
pub(crate) fn admin_cli(wcc: &Wcc, args: &[&str]) -> Result<std::process::Output> {
    let launcher = std::env::var("WCC_LATTICE_BIN")?;
    let connection = [
        "admin",
        "--addr",
        &wcc.admin,
        "--token",
        common::ADMIN_TOKEN,
    ];
    Ok(std::process::Command::new(launcher)
        .args(connection)
        .args(args)
        .output()?)
}

/// Rooms added over admin HTTP: whether each was new, and whether it exists.
pub(crate) async fn adding_a_room_says_whether_it_was_new(wcc: &Wcc) -> Result<()> {
    // add: 1 created, 0 existed; exists.
    let (status, body) = wcc
        .admin("POST", "/rooms", Some(json!({"id": "lobby"})))
        .await?;
    assert_eq!((status, body["added"].clone()), (201, json!(1)), "{body}");
    let (status, body) = wcc
        .admin("POST", "/rooms", Some(json!({"id": "lobby"})))
        .await?;
    assert_eq!((status, body["added"].clone()), (200, json!(0)), "{body}");
    let (_, body) = wcc.admin("GET", "/rooms/lobby/exists", None).await?;
    assert_eq!(body, json!({"exists": true}));
    let (_, body) = wcc.admin("GET", "/rooms/nowhere/exists", None).await?;
    assert_eq!(body, json!({"exists": false}));
    Ok(())
}

/// The operator moves a member.
pub(crate) async fn the_operator_moves_a_member(wcc: &Wcc, clients: &mut Clients) -> Result<()> {
    let Clients { web, web_user, .. } = clients;
    let (status, body) = wcc
        .admin("PUT", &format!("/rooms/news/members/{web_user}"), None)
        .await?;
    assert_eq!((status, body), (200, json!({"joined": true})));
    let moved = web.push(|v| v["event"] == "joined").await?;
    assert_eq!(moved["room"], "news");
    assert_ok(&web.request("say in the news").await?);
    let (status, body) = wcc
        .admin("DELETE", &format!("/rooms/news/members/{web_user}"), None)
        .await?;
    assert_eq!((status, body), (200, json!({"left": true})));
    assert_eq!(web.push(|v| v["event"] == "left").await?["room"], "news");
    assert_eq!(
        web.request("say anyone?").await?["status"],
        "connection not in a room"
    );
    Ok(())
}

/// The operator writes to one connection.
pub(crate) async fn the_operator_writes_to_one_connection(
    wcc: &Wcc,
    clients: &mut Clients,
) -> Result<()> {
    let Clients {
        tel,
        tel_connection,
        ..
    } = clients;
    let (status, body) = wcc
        .admin(
            "POST",
            &format!("/connections/{tel_connection}/messages"),
            Some(json!({"message": "psst"})),
        )
        .await?;
    assert_eq!(status, 202, "{body}");
    assert_eq!(tel.chat("psst").await?["from"], "server");
    Ok(())
}

/// The admin CLI speaks the same API.
pub(crate) async fn the_admin_cli_speaks_the_same_api(wcc: &Wcc) -> Result<()> {
    let found = admin_cli(wcc, &["status", "lobby"])?;
    assert!(
        found.status.success(),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
    let status: Value = serde_json::from_slice(&found.stdout)?;
    assert_eq!(status["room"], "lobby");
    let missing = admin_cli(wcc, &["status", "nowhere"])?;
    assert!(!missing.status.success());
    Ok(())
}
