//! actionhero: `codec::decode` on any line, checked against the line's own words or JSON.
//!
//! - blank lines never decode, and whitespace around a line (telnet's `\r`, stray spaces)
//!   never changes what it means,
//! - a word line is the verb or action its first word names: a bare word that is no verb
//!   runs that action, a verb's room or key is the next word, `say` says the rest (never
//!   nothing), `paramAdd` always has a key; only a verb missing its argument is refused,
//! - a JSON line is accepted only as an object: `action` lines run that action with its
//!   `params` (`{}` when absent), `event` lines are verbs.
#![no_main]

use channel_actionhero::codec::{self, Request, Verb};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// Verbs that take a word (or the rest of the line); the others need nothing.
const NEEDS_ARGUMENT: [&str; 7] = [
    "roomChange",
    "listenToRoom",
    "silenceRoom",
    "say",
    "paramAdd",
    "paramView",
    "paramDelete",
];
const BARE_VERBS: [&str; 7] = [
    "roomLeave",
    "roomView",
    "detailsView",
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
    if trimmed.starts_with(['{', '[']) {
        return json_line(trimmed, decoded);
    }
    let word = trimmed.split_whitespace().next().unwrap();
    let rest = trimmed[word.len()..].trim_start();
    let first = rest.split_whitespace().next();
    let is_verb = NEEDS_ARGUMENT.contains(&word) || BARE_VERBS.contains(&word);
    let verb = match decoded {
        Ok(Request::Action { name, params }) => {
            assert!(!is_verb, "the verb {word:?} ran as an action");
            assert_eq!(name, word);
            assert_eq!(params, None, "a word line brought params");
            return;
        }
        Ok(Request::Verb(verb)) => verb,
        Err(_) => {
            assert!(NEEDS_ARGUMENT.contains(&word), "{word:?} was refused");
            match word {
                "say" => assert!(rest.is_empty()),
                "paramAdd" => {}
                _ => assert_eq!(first, None, "{word:?} had its argument"),
            }
            return;
        }
    };
    let arg = |a: &str| assert_eq!(Some(a), first, "{word:?} took another argument");
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
        | (Verb::ParamsView, "paramsView")
        | (Verb::ParamsDelete, "paramsDelete")
        | (Verb::Quit, "quit" | "exit") => {}
        (verb, word) => panic!("{word:?} decoded as {verb:?}"),
    }
});

fn json_line(line: &str, decoded: Result<Request, codec::Unreadable>) {
    let Ok(request) = decoded else { return };
    let value: Value = serde_json::from_str(line).expect("accepted a JSON line that is no JSON");
    let object = value
        .as_object()
        .expect("accepted a JSON line that is no object");
    match request {
        Request::Action { name, params } => {
            assert!(!name.is_empty());
            assert_eq!(object["action"], name.as_str());
            let expected = match object.get("params") {
                None | Some(Value::Null) => Map::new(),
                Some(params) => params.as_object().expect("params not an object").clone(),
            };
            assert_eq!(params, Some(expected));
        }
        Request::Verb(verb) => {
            assert!(!object.contains_key("action"), "an action line ran a verb");
            let event = object["event"].as_str().expect("a verb without an event");
            if let Verb::Say(said) = verb {
                assert_eq!(event, "say");
                assert!(!said.is_empty(), "said nothing");
            }
        }
    }
}
