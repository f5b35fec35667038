//! actionhero: `codec::decode` on any line, checked against the line's own words or JSON.
//!
//! - blank lines never decode, and whitespace around a line (telnet's `\r`, stray spaces)
//!   never changes what it means,
//! - a word line is the verb or action its first word names: a bare word that is no verb
//!   runs that action, a verb's room or key is the next word (empty when there is none, as
//!   upstream lets it through to the verb), `say` says the rest; only `say` with nothing to
//!   say and `paramAdd` without a key are refused,
//! - a line that is a JSON object is an action (`action` names it, `params` are its params,
//!   `{}` when absent or not an object), a websocket client's event (`event`), or else an
//!   action with no name; any other line starting with `{` or `[` names an action by its
//!   first word, as upstream reads it.
#![no_main]

use channel_actionhero::codec::{self, Request, Unreadable, Verb};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// Verbs that take the next word (empty when there is none).
const TAKES_WORD: [&str; 5] = [
    "roomChange",
    "listenToRoom",
    "silenceRoom",
    "paramView",
    "paramDelete",
];
const BARE_VERBS: [&str; 8] = [
    "roomLeave",
    "roomView",
    "detailsView",
    "documentation",
    "paramsView",
    "paramsDelete",
    "quit",
    "exit",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let line: &str = &text;
    let decoded = codec::decode(line);
    if codec::is_blank(line) {
        assert!(decoded.is_err(), "a blank line asked for {decoded:?}");
        return;
    }
    let padded = format!(" \t{line} \r\n");
    assert_eq!(
        codec::decode(&padded),
        decoded,
        "whitespace changed the meaning"
    );

    let trimmed = line.trim();
    if trimmed.starts_with('{') {
        if let Ok(Value::Object(object)) = serde_json::from_str::<Value>(trimmed) {
            return json_object(&object, decoded);
        }
    }
    let word = trimmed.split_whitespace().next().unwrap();
    let rest = trimmed[word.len()..].trim_start();
    let first = rest.split_whitespace().next().unwrap_or_default();
    let is_verb = TAKES_WORD.contains(&word)
        || BARE_VERBS.contains(&word)
        || word == "say"
        || word == "paramAdd";
    let verb = match decoded {
        Ok(Request::Action { name, params }) => {
            assert!(!is_verb, "the verb {word:?} ran as an action");
            assert_eq!(name, word);
            assert_eq!(params, None, "a word line brought params");
            return;
        }
        Ok(Request::Verb(verb)) => verb,
        Err(refused) => {
            assert!(matches!(refused, Unreadable::Verb(_)), "{refused:?}");
            match word {
                "say" => assert!(rest.is_empty(), "say refused {rest:?}"),
                "paramAdd" => {}
                _ => panic!("{word:?} was refused"),
            }
            return;
        }
    };
    let arg = |a: &str| assert_eq!(a, first, "{word:?} took another argument");
    match (&verb, word) {
        (Verb::RoomChange(room), "roomChange")
        | (Verb::ListenToRoom(room), "listenToRoom")
        | (Verb::SilenceRoom(room), "silenceRoom") => arg(room),
        (Verb::ParamView(key), "paramView") | (Verb::ParamDelete(key), "paramDelete") => arg(key),
        (Verb::Say(said), "say") => {
            assert!(!said.is_empty());
            assert_eq!(said, rest);
        }
        (Verb::ParamAdd { key, value }, "paramAdd") => {
            assert!(!key.is_empty(), "paramAdd without a key");
            assert!(
                rest.starts_with(key.as_str()),
                "{key:?} is not from {rest:?}"
            );
            assert!(
                rest.ends_with(value.as_str()),
                "{value:?} is not from {rest:?}"
            );
        }
        (Verb::RoomLeave, "roomLeave")
        | (Verb::RoomView, "roomView")
        | (Verb::DetailsView, "detailsView")
        | (Verb::Documentation, "documentation")
        | (Verb::ParamsView, "paramsView")
        | (Verb::ParamsDelete, "paramsDelete")
        | (Verb::Quit, "quit")
        | (Verb::Exit, "exit") => {}
        (verb, word) => panic!("{word:?} decoded as {verb:?}"),
    }
});

/// A line that is a JSON object.
fn json_object(object: &Map<String, Value>, decoded: Result<Request, Unreadable>) {
    let params_of = |params: Option<&Value>| match params {
        Some(Value::Object(params)) => params.clone(),
        _ => Map::new(),
    };
    if let Some(action) = object.get("action") {
        let name = match action {
            Value::String(name) => name.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let expected = Request::Action {
            name,
            params: Some(params_of(object.get("params"))),
        };
        assert_eq!(decoded, Ok(expected));
        return;
    }
    let Some(event) = object.get("event") else {
        let expected = Request::Action {
            name: String::new(),
            params: Some(Map::new()),
        };
        assert_eq!(decoded, Ok(expected), "no action and no event");
        return;
    };
    match decoded {
        Ok(Request::Action { params, .. }) => {
            assert_eq!(event, "action", "the event {event} ran an action");
            assert_eq!(params, Some(params_of(object.get("params"))));
        }
        Ok(Request::Verb(verb)) => {
            let event = event
                .as_str()
                .expect("a verb from an event that is no text");
            if let Verb::Say(said) = verb {
                assert_eq!(event, "say");
                assert!(!said.trim().is_empty(), "said nothing");
            }
        }
        Err(refused) => assert!(matches!(refused, Unreadable::Verb(_)), "{refused:?}"),
    }
}
