//! Accounts: the greeting, the bootstrap admin, signing up with and without an invite, groups
//! and their permissions, and logging in (with the right protocol, and with a wrong password).

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::common::rebuttal::{ADMIN_EMAIL, PASSWORD};
use crate::common::Wcc;
use crate::support::{is_uuid, perms, set, strings, user_in, PERMISSIONS};
use crate::Cast;

/// The greeting, the bootstrap admin, a refused sign-up, a wrong password, groups (and an
/// unknown permission), an invite used once.
pub(crate) async fn accounts_and_groups(wcc: &Wcc) -> Result<Cast> {
    let mut admin = wcc.rebuttal().await?;
    let greeting = admin.greeting.clone();
    assert_eq!(greeting["type"], "connect", "{greeting}");
    assert!(greeting["message"].is_string(), "{greeting}");
    assert_eq!(greeting["protocols"], json!(["v1"]), "{greeting}");
    assert_eq!(greeting["contextmenus"], json!({}), "{greeting}");

    // Nothing but login and signup before logging in.
    let early = admin
        .refused(json!({"type": "createroom", "roomType": "text", "roomName": "x"}))
        .await?;
    assert_eq!(early, "Log in first");

    // The bootstrap admin signs up without an invite and holds every permission.
    let admin_id = admin.signup("Root", ADMIN_EMAIL, "signup").await?;
    assert!(is_uuid(&admin_id), "{admin_id}");
    let granted = admin.expect("updatePerms", |_| true).await?;
    assert!(
        perms(&granted).is_superset(&set(&PERMISSIONS)),
        "the admin holds every permission: {granted}"
    );
    let groups = admin.expect("updateGroups", |_| true).await?;
    assert!(groups["groups"]["admin"].is_array(), "{groups}");
    let rooms = admin.expect("updateRooms", |_| true).await?;
    assert!(rooms["roomList"].is_array(), "{rooms}");
    let users = admin.expect("updateUsers", |_| true).await?;
    let me = user_in(&users, &admin_id).context("the admin in the user list")?;
    assert_eq!(me["name"], "Root", "{me}");
    assert_eq!(me["currentRoom"], Value::Null, "{me}");
    assert_eq!(me["talking"], false, "{me}");
    assert_eq!(me["hidden"], false, "{me}");
    admin.forget();

    // An administrator exists and open_signup is off: "signup" is refused, no account is made.
    let mut eve = wcc.rebuttal().await?;
    eve.send(
        json!({"type": "signup", "userName": "Eve", "email": "eve@wcc.test",
        "password": PASSWORD, "signUp": "signup"}),
    )
    .await?;
    let refused = eve.next().await?;
    assert_eq!(
        refused["type"], "error",
        "signup without an invite: {refused}"
    );
    // Eve's account was never made: her login is refused (and ends that connection).
    let mut never = wcc.rebuttal().await?;
    let refused = never
        .refused(
            json!({"type": "login", "email": "eve@wcc.test", "password": PASSWORD,
            "protocol": "v1"}),
        )
        .await?;
    assert_eq!(refused, "Invalid email or password");

    // Groups: create, update (an unknown permission is refused), as everyone sees them.
    admin
        .send(json!({"type": "creategroup", "groupName": "members"}))
        .await?;
    admin
        .expect("updateGroups", |p| p["groups"]["members"].is_array())
        .await?;
    admin
        .send(
            json!({"type": "updategroup", "groupName": "members", "changes": [
            {"add": "sendMessage"}, {"add": "removeRoom"}, {"add": "joinVoiceRoom"},
            {"remove": "removeRoom"}]}),
        )
        .await?;
    let groups = admin
        .expect("updateGroups", |p| {
            strings(&p["groups"]["members"]).len() == 2
        })
        .await?;
    assert_eq!(
        strings(&groups["groups"]["members"]),
        set(&["joinVoiceRoom", "sendMessage"]),
        "{groups}"
    );
    admin.forget();
    let unknown = admin
        .refused(json!({"type": "updategroup", "groupName": "members",
            "changes": [{"add": "rootShell"}]}))
        .await?;
    assert!(!unknown.is_empty(), "an unknown permission is refused");

    // An invite puts its user in its group, once.
    admin
        .send(json!({"type": "invite", "groupName": "members"}))
        .await?;
    let invite = admin.expect("invite", |_| true).await?;
    let code = invite["invite_code"]
        .as_str()
        .with_context(|| format!("no invite_code: {invite}"))?
        .to_owned();
    let mut bob = wcc.rebuttal().await?;
    let bob_id = bob.signup("Bob", "bob@wcc.test", &code).await?;
    assert!(is_uuid(&bob_id), "{bob_id}");
    let bob_perms = bob.expect("updatePerms", |_| true).await?;
    assert_eq!(
        perms(&bob_perms),
        set(&["joinVoiceRoom", "sendMessage"]),
        "{bob_perms}"
    );
    let reused = eve
        .refused(
            json!({"type": "signup", "userName": "Eve", "email": "eve@wcc.test",
            "password": PASSWORD, "signUp": code}),
        )
        .await?;
    assert!(reused.contains("invite"), "a used invite: {reused}");
    let bogus = eve
        .refused(
            json!({"type": "signup", "userName": "Eve", "email": "eve@wcc.test",
            "password": PASSWORD, "signUp": "no-such-code"}),
        )
        .await?;
    assert!(bogus.contains("invite"), "an unknown invite: {bogus}");
    let users = admin
        .expect("updateUsers", |p| user_in(p, &bob_id).is_some())
        .await?;
    assert_eq!(user_in(&users, &bob_id).unwrap()["name"], "Bob", "{users}");

    // A change to a group reaches its logged-in members.
    bob.forget();
    admin
        .send(json!({"type": "updategroup", "groupName": "members",
            "changes": [{"add": "renameRoom"}]}))
        .await?;
    let more = bob
        .expect("updatePerms", |p| perms(p).contains("renameRoom"))
        .await?;
    assert_eq!(
        perms(&more),
        set(&["joinVoiceRoom", "renameRoom", "sendMessage"]),
        "{more}"
    );
    bob.expect("updateGroups", |p| {
        strings(&p["groups"]["members"]).contains("renameRoom")
    })
    .await?;
    admin
        .send(json!({"type": "updategroup", "groupName": "members",
            "changes": [{"remove": "renameRoom"}]}))
        .await?;
    bob.expect("updatePerms", |p| !perms(p).contains("renameRoom"))
        .await?;
    bob.forget();
    admin.forget();

    Ok(Cast {
        admin,
        admin_id,
        bob,
        bob_id,
        carol: None,
        carol_id: String::new(),
        carol_password: String::new(),
        room: String::new(),
        call: String::new(),
    })
}

/// The greeting names the protocol versions the server speaks; the web client logs in with
/// `client.send.login(email, password, "v1")`.
pub(crate) async fn the_greeting_offers_protocol_v1_and_the_client_logs_in_with_it(
    wcc: &Wcc,
    cast: &mut Cast,
) -> Result<()> {
    let mut client = wcc.rebuttal().await?;
    assert_eq!(
        client.greeting["protocols"],
        json!(["v1"]),
        "{}",
        client.greeting
    );
    client
        .send(
            json!({"type": "login", "email": ADMIN_EMAIL, "password": PASSWORD,
            "protocol": "v1"}),
        )
        .await?;
    let login = client.expect("login", |_| true).await?;
    assert_eq!(
        login,
        json!({"type": "login", "userid": cast.admin_id, "success": true})
    );
    client.expect("updateUsers", |_| true).await?;
    client.close().await?;
    Ok(())
}

/// A refused login ends the connection as upstream's does: the `error` saying why (the web
/// client shows it), then close code 3001.
pub(crate) async fn a_wrong_password_closes_the_connection_with_3001(wcc: &Wcc) -> Result<()> {
    let mut client = wcc.rebuttal().await?;
    let refused = client
        .refused(
            json!({"type": "login", "email": ADMIN_EMAIL, "password": "not it",
            "protocol": "v1"}),
        )
        .await?;
    assert_eq!(refused, "Invalid email or password");
    assert_eq!(client.closed_with().await?, 3001);
    Ok(())
}
