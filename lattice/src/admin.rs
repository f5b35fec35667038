//! `wcc-lattice admin`: the operator's commands (the seed's actionhero `api.chatRoom.*`) as calls
//! to the rooms actor's admin HTTP API.
//!
//! Each command maps to one request ([`request`], a pure function, unit-tested); [`run`] sends
//! it and prints the answer: the body on stdout for 2xx, the error JSON on stderr (exit 1)
//! otherwise. The token is `--token` / `WCC_ADMIN_TOKEN`, else the one `wcc-lattice up`
//! generated in its state folder; there is no default.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Subcommand};
use serde_json::{json, Value};

#[derive(Args, Debug)]
pub struct AdminArgs {
    /// The admin HTTP API's `host:port`.
    #[arg(long, env = "WCC_ADMIN_ADDR", default_value = "127.0.0.1:8081")]
    pub addr: String,
    /// The admin API's bearer token; by default the one in `<state-dir>/secrets/admin-token`.
    #[arg(long, env = "WCC_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The state folder of `wcc-lattice up`, where it keeps the token it generated.
    #[arg(long, default_value = crate::local::DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand, Debug, PartialEq)]
pub enum AdminCommand {
    /// Create a room (`added` is 1 if created, 0 if it existed).
    Add {
        room: String,
        /// Defaults to the room id.
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = ["text", "voice"])]
        kind: Option<String>,
    },
    /// Delete a room and every membership in it.
    Del { room: String },
    /// Whether a room exists.
    Exists { room: String },
    /// A room's members: `{room, membersCount, members}`.
    Status { room: String },
    /// Set or clear a room's authentication pattern.
    ///
    /// A connection may join the room only if its detail `key` equals `value`, e.g.
    /// `auth lobby type websocket` or `auth lobby authenticated true`.
    Auth {
        room: String,
        /// The connection detail, e.g. `type` or `authenticated`.
        #[arg(required_unless_present = "clear")]
        key: Option<String>,
        /// A JSON value (`true`, `3`, `'"3"'`); anything that is not JSON is a string.
        #[arg(required_unless_present = "clear")]
        value: Option<String>,
        /// Remove the pattern: anyone may join.
        #[arg(long, conflicts_with_all = ["key", "value"])]
        clear: bool,
    },
    /// Add a user to a room; their live sessions are told.
    AddMember { room: String, user: String },
    /// Remove a user from a room; their live sessions are told.
    RemoveMember { room: String, user: String },
    /// Post a message to a room as the server (stored in its history).
    Broadcast {
        room: String,
        #[arg(required = true, num_args = 1.., trailing_var_arg = true)]
        message: Vec<String>,
    },
    /// Send a live message to one connection (never stored).
    Send {
        connection_id: String,
        #[arg(required = true, num_args = 1.., trailing_var_arg = true)]
        message: Vec<String>,
    },
}

/// One admin API call.
#[derive(Debug, PartialEq)]
pub struct ApiRequest {
    pub method: &'static str,
    /// Starting with `/`, every id percent-encoded.
    pub path: String,
    pub body: Option<Value>,
}

/// The request a command makes; `Err` for an argument no request can carry.
pub fn request(command: &AdminCommand) -> Result<ApiRequest, String> {
    let call = |method, path: String, body| ApiRequest { method, path, body };
    Ok(match command {
        AdminCommand::Add { room, name, kind } => {
            let mut body = json!({"id": room});
            if let Some(name) = name {
                body["name"] = json!(name);
            }
            if let Some(kind) = kind {
                body["kind"] = json!(kind);
            }
            call("POST", "/rooms".into(), Some(body))
        }
        AdminCommand::Del { room } => call("DELETE", room_path(room, ""), None),
        AdminCommand::Exists { room } => call("GET", room_path(room, "/exists"), None),
        AdminCommand::Status { room } => call("GET", room_path(room, "/status"), None),
        AdminCommand::Auth {
            room, clear: true, ..
        } => call("DELETE", room_path(room, "/authentication"), None),
        AdminCommand::Auth {
            room, key, value, ..
        } => {
            let (Some(key), Some(value)) = (key, value) else {
                return Err("auth needs <key> <json-value>, or --clear".into());
            };
            // Typing quotes through a shell is a chore: a bare word is the string it spells.
            let value: Value =
                serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.clone()));
            let body = json!({"key": key, "value": value});
            call("PUT", room_path(room, "/authentication"), Some(body))
        }
        AdminCommand::AddMember { room, user } => call("PUT", member_path(room, user), None),
        AdminCommand::RemoveMember { room, user } => call("DELETE", member_path(room, user), None),
        AdminCommand::Broadcast { room, message } => {
            let body = json!({"message": message.join(" ")});
            call("POST", room_path(room, "/broadcast"), Some(body))
        }
        AdminCommand::Send {
            connection_id,
            message,
        } => {
            let path = format!("/connections/{}/messages", segment(connection_id));
            let body = json!({"message": message.join(" ")});
            call("POST", path, Some(body))
        }
    })
}

/// Sends the command's request and prints the answer; returns the process exit status: 0 for
/// 2xx, 1 for any other answer or no answer, 2 for arguments no request can carry (as clap's
/// own usage errors).
pub fn run(args: &AdminArgs) -> i32 {
    let req = match request(&args.command) {
        Ok(req) => req,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let token = match crate::secrets::client_admin_token(args.token.clone(), &args.state_dir) {
        Ok(token) => token,
        Err(e) => {
            eprintln!("{e:#}");
            return 2;
        }
    };
    let url = format!("http://{}{}", args.addr, req.path);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let call = agent
        .request(req.method, &url)
        .set("authorization", &format!("Bearer {token}"));
    let sent = match &req.body {
        Some(body) => call
            .set("content-type", "application/json")
            .send_string(&body.to_string()),
        None => call.call(),
    };
    match sent {
        Ok(response) => {
            let body = response.into_string().unwrap_or_default();
            if !body.is_empty() {
                println!("{body}");
            }
            0
        }
        Err(ureq::Error::Status(status, response)) => {
            let body = response.into_string().unwrap_or_default();
            eprintln!(
                "{}",
                if body.is_empty() {
                    status.to_string()
                } else {
                    body
                }
            );
            1
        }
        // ureq's transport errors name the URL.
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

fn room_path(room: &str, rest: &str) -> String {
    format!("/rooms/{}{rest}", segment(room))
}

fn member_path(room: &str, user: &str) -> String {
    room_path(room, &format!("/members/{}", segment(user)))
}

/// Percent-encodes everything but letters, digits, `-`, `_`, `.` and `~`, so an argument is
/// always one path segment (the API then refuses what is not a valid id).
fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        admin: AdminArgs,
    }

    fn parse(args: &[&str]) -> Result<AdminArgs, clap::Error> {
        let argv = std::iter::once("admin").chain(args.iter().copied());
        Cli::try_parse_from(argv).map(|cli| cli.admin)
    }

    /// A request as (method, path, body).
    type Expected = (&'static str, &'static str, Option<Value>);

    /// The request `args` make, as (method, path, body).
    fn mapped(args: &[&str]) -> (&'static str, String, Option<Value>) {
        let admin = parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let req = request(&admin.command).unwrap();
        (req.method, req.path, req.body)
    }

    #[test]
    fn each_command_maps_to_its_route() {
        let none = None;
        let cases: Vec<(&[&str], Expected)> = vec![
            (
                &["add", "lobby"],
                ("POST", "/rooms", Some(json!({"id": "lobby"}))),
            ),
            (
                &["add", "talk", "--name", "Talk here", "--kind", "voice"],
                (
                    "POST",
                    "/rooms",
                    Some(json!({"id": "talk", "name": "Talk here", "kind": "voice"})),
                ),
            ),
            (&["del", "lobby"], ("DELETE", "/rooms/lobby", none.clone())),
            (
                &["exists", "lobby"],
                ("GET", "/rooms/lobby/exists", none.clone()),
            ),
            (
                &["status", "lobby"],
                ("GET", "/rooms/lobby/status", none.clone()),
            ),
            (
                &["auth", "lobby", "type", "websocket"],
                (
                    "PUT",
                    "/rooms/lobby/authentication",
                    Some(json!({"key": "type", "value": "websocket"})),
                ),
            ),
            (
                &["auth", "lobby", "authenticated", "true"],
                (
                    "PUT",
                    "/rooms/lobby/authentication",
                    Some(json!({"key": "authenticated", "value": true})),
                ),
            ),
            (
                &["auth", "lobby", "--clear"],
                ("DELETE", "/rooms/lobby/authentication", none.clone()),
            ),
            (
                &["add-member", "lobby", "ada"],
                ("PUT", "/rooms/lobby/members/ada", none.clone()),
            ),
            (
                &["remove-member", "lobby", "ada"],
                ("DELETE", "/rooms/lobby/members/ada", none.clone()),
            ),
            (
                &["broadcast", "lobby", "closing", "at", "5"],
                (
                    "POST",
                    "/rooms/lobby/broadcast",
                    Some(json!({"message": "closing at 5"})),
                ),
            ),
            (
                &["send", "gw1-3", "hello", "--there"],
                (
                    "POST",
                    "/connections/gw1-3/messages",
                    Some(json!({"message": "hello --there"})),
                ),
            ),
        ];
        for (args, (method, path, body)) in cases {
            assert_eq!(mapped(args), (method, path.to_string(), body), "{args:?}");
        }
    }

    #[test]
    fn ids_stay_one_path_segment() {
        assert_eq!(
            mapped(&["add-member", "a/b", "x y"]).1,
            "/rooms/a%2Fb/members/x%20y"
        );
    }

    #[test]
    fn address_and_token_have_defaults_and_flags() {
        let admin = parse(&["--addr", "10.0.0.1:9", "--token", "t", "exists", "x"]).unwrap();
        assert_eq!(
            (admin.addr.as_str(), admin.token.as_deref()),
            ("10.0.0.1:9", Some("t"))
        );
        let admin = parse(&["--state-dir", "/srv/wcc", "exists", "x"]).unwrap();
        assert_eq!(admin.state_dir, PathBuf::from("/srv/wcc"));
        // Defaults apply unless the environment sets WCC_ADMIN_ADDR / WCC_ADMIN_TOKEN.
        let admin = parse(&["exists", "x"]).unwrap();
        if std::env::var_os("WCC_ADMIN_ADDR").is_none() {
            assert_eq!(admin.addr, "127.0.0.1:8081");
        }
        if std::env::var_os("WCC_ADMIN_TOKEN").is_none() {
            // No built-in token: it comes from the state folder or nowhere.
            assert_eq!(admin.token, None);
            assert_eq!(admin.state_dir, PathBuf::from(".wcc/state"));
        }
    }

    #[test]
    fn without_a_token_or_its_file_nothing_is_sent() {
        let state = tempfile::tempdir().unwrap();
        let args = AdminArgs {
            // Nothing listens here; a request sent would fail with 1, not 2.
            addr: "127.0.0.1:1".into(),
            token: None,
            state_dir: state.path().to_path_buf(),
            command: AdminCommand::Exists { room: "x".into() },
        };
        assert_eq!(run(&args), 2);
    }

    #[test]
    fn bad_arguments_are_refused() {
        for args in [
            &["auth", "lobby"][..],
            &["auth", "lobby", "type"],
            &["auth", "lobby", "type", "1", "--clear"],
            &["add", "x", "--kind", "forum"],
            &["broadcast", "lobby"],
            &["send", "c-1"],
            &["teleport", "x"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
