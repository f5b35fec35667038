//! The actions a connection may run, described once: `documentation` lists them in upstream's
//! shape, and the dispatcher checks their required params with upstream's words.

use channel_kit::{Backend, Principal};
use serde_json::{json, Map, Value};

use super::{end_guest, refusal, Conn, Refusal};
use crate::CHANNEL;

/// An action as `documentation` shows it.
pub struct ActionSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
    /// JSON.
    pub output_example: &'static str,
}

/// Every action, each in version 1.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "status",
        description: "I will return some basic information about the API",
        required: &[],
        optional: &[],
        output_example: r#"{"id": "gateway-1"}"#,
    },
    ActionSpec {
        name: "register",
        description: "I make an account with a login and a password",
        required: &["login", "password"],
        optional: &[],
        output_example: r#"{"user": {"id": "u-1", "login": "ada"}}"#,
    },
    ActionSpec {
        name: "login",
        description: "I sign this connection in to an account; its room comes with it",
        required: &["login", "password"],
        optional: &[],
        output_example: r#"{"authenticated": true, "user": {"id": "u-1", "login": "ada"}}"#,
    },
];

/// Upstream's answer to an action it does not have (its error is an `Error`, so it reads
/// `Error: ...`).
pub fn unknown_action(name: &str) -> String {
    let name = if name.is_empty() { "{no action}" } else { name };
    format!("Error: {name} is not a known action or that is not a valid apiVersion.")
}

/// The `documentation` verb's data: `{action: {version: {name, version, description, inputs,
/// outputExample}}}`.
pub(super) fn documentation() -> Value {
    let actions: Map<String, Value> = ACTIONS
        .iter()
        .map(|spec| {
            let example: Value = serde_json::from_str(spec.output_example).unwrap_or_default();
            let entry = json!({"1": {
                "name": spec.name,
                "version": 1,
                "description": spec.description,
                "inputs": {"required": spec.required, "optional": spec.optional},
                "outputExample": example,
            }});
            (spec.name.to_owned(), entry)
        })
        .collect();
    Value::Object(actions)
}

impl<B: Backend> Conn<'_, B> {
    pub(super) fn action(
        &mut self,
        name: &str,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Refusal> {
        let Some(spec) = ACTIONS.iter().find(|spec| spec.name == name) else {
            return Err(unknown_action(name));
        };
        if let Some(missing) = spec.required.iter().find(|p| text(params, p).is_none()) {
            return Err(format!(
                "Error: {missing} is a required parameter for this action"
            ));
        }
        let param = |key: &str| text(params, key).unwrap_or_default();
        match spec.name {
            "status" => Ok(self.status()),
            "register" => self.register(&param("login"), &param("password")),
            _ => self.login(&param("login"), &param("password")),
        }
    }

    /// The server this connection is on: its gateway, whose id prefixes every connection id
    /// it holds. Upstream adds its process's uptime and stats; wcc has no one process to
    /// time, and the gateways report their stats on `wcc.gateway.stats`.
    fn status(&self) -> Map<String, Value> {
        let id = &self.session.connection_id;
        let gateway = id
            .rsplit_once('-')
            .map_or(id.as_str(), |(gateway, _)| gateway);
        fields(json!({"id": gateway}))
    }

    fn register(&mut self, login: &str, password: &str) -> Result<Map<String, Value>, Refusal> {
        let user = self
            .backend
            .register(CHANNEL, login, password, None, &self.session.remote)
            .map_err(refusal)?;
        Ok(fields(json!({"user": {"id": user.id, "login": login}})))
    }

    fn login(&mut self, login: &str, password: &str) -> Result<Map<String, Value>, Refusal> {
        let user = self
            .backend
            .authenticate(CHANNEL, login, password, &self.session.remote)
            .map_err(refusal)?;
        self.become_user(user.id.clone())?;
        Ok(fields(json!({
            "authenticated": true,
            "user": {"id": user.id, "login": login},
        })))
    }

    /// The connection is now `user`'s: its room membership moves with it (no join rule is
    /// checked again: the connection already joined), and its guest, if it had one, ends.
    fn become_user(&mut self, user: String) -> Result<(), Refusal> {
        let before = self.session.user.replace(user.clone());
        if let Some(before) = before.filter(|b| *b != user) {
            // Leaving its rooms as it goes.
            end_guest(self.backend, &before);
        }
        if let Some(room) = self.state.room.clone() {
            let actor = Principal::user(&user);
            self.backend
                .join(
                    &actor,
                    &room,
                    &user,
                    CHANNEL,
                    Some(&self.session.connection_id),
                )
                .map_err(refusal)?;
        }
        self.state.authenticated = true;
        Ok(())
    }
}

/// A param as text; missing when absent, null or empty, as upstream's check has it.
fn text(params: &Map<String, Value>, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::Null => None,
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
