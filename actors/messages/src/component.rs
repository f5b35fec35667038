//! The wasm shell: WIT values in and out, the real store, NATS, configuration and clock.
//!
//! Nothing here decides anything; it converts and delegates so the logic stays testable natively.

use wcc_interface::clock::now_ms;

use wcc_interface::{Failure as DomainFailure, Principal as DomainPrincipal, StoredMessage};
use wcc_kv::{keys, WasiStore};

use wcc_bus::NatsPublisher;

use crate::Limits;

wit_bindgen::generate!({
    world: "messages-actor",
    path: "../../interface/wit",
    generate_all,
});

use exports::wcc::chat::messages::Guest;
use exports::wcc::chat::messages::{MessageReactions, Reaction, ReadState};
use wcc::chat::types::{Failure, Message, NewMessage, Principal, Signal};

/// Runtime configuration key for [`Limits::max_message_bytes`].
const MAX_MESSAGE_BYTES_KEY: &str = "max_message_bytes";

struct Component;

fn from_wit_new(msg: NewMessage) -> crate::NewMessage {
    crate::NewMessage {
        origin: msg.origin,
        room: msg.room,
        sender: msg.sender,
        channel: msg.channel,
        event_type: msg.event_type,
        content: msg.content,
    }
}

impl Guest for Component {
    fn process_message(msg: NewMessage) -> Result<Message, Failure> {
        let store = open_store()?;
        let new_id = || uuid::Uuid::new_v4().to_string();
        crate::process_message(
            &store,
            &NatsPublisher,
            limits(),
            from_wit_new(msg),
            now_ms(),
            new_id,
        )
        .map(to_wit_message)
        .map_err(to_wit_failure)
    }

    fn process_messages(msgs: Vec<NewMessage>) -> Vec<Result<Message, Failure>> {
        let store = match open_store() {
            Ok(store) => store,
            Err(failure) => return msgs.iter().map(|_| Err(failure.clone())).collect(),
        };
        let msgs = msgs.into_iter().map(from_wit_new).collect();
        let new_id = || uuid::Uuid::new_v4().to_string();
        crate::process_messages(&store, &NatsPublisher, limits(), msgs, now_ms(), new_id)
            .into_iter()
            .map(|answer| answer.map(to_wit_message).map_err(to_wit_failure))
            .collect()
    }

    fn announce(
        room: String,
        channel: String,
        event_type: String,
        content: String,
    ) -> Result<Message, Failure> {
        let store = open_store()?;
        let announcement = crate::Announcement {
            room,
            channel,
            event_type,
            content,
        };
        let new_id = || uuid::Uuid::new_v4().to_string();
        crate::announce(
            &store,
            &NatsPublisher,
            limits(),
            announcement,
            now_ms(),
            new_id,
        )
        .map(to_wit_message)
        .map_err(to_wit_failure)
    }

    fn get_message(actor: Principal, id: String) -> Result<Option<Message>, Failure> {
        let store = open_store()?;
        crate::get_message(&store, &principal(actor), &id)
            .map(|found| found.map(to_wit_message))
            .map_err(to_wit_failure)
    }

    fn publish_signal(note: Signal) -> Result<(), Failure> {
        let store = open_store()?;
        let note = crate::Signal {
            room: note.room,
            sender: note.sender,
            channel: note.channel,
            kind: note.kind,
            content: note.content,
        };
        crate::signal(&store, &NatsPublisher, limits(), note, now_ms()).map_err(to_wit_failure)
    }

    fn edit_message(
        actor: Principal,
        room: String,
        event_id: u64,
        content: String,
    ) -> Result<Message, Failure> {
        let store = open_store()?;
        crate::edit_message(
            &store,
            &NatsPublisher,
            limits(),
            &principal(actor),
            &room,
            event_id,
            &content,
            now_ms(),
        )
        .map(to_wit_message)
        .map_err(to_wit_failure)
    }

    fn remove_message(actor: Principal, room: String, event_id: u64) -> Result<Message, Failure> {
        let store = open_store()?;
        let actor = principal(actor);
        crate::remove_message(&store, &NatsPublisher, &actor, &room, event_id, now_ms())
            .map(to_wit_message)
            .map_err(to_wit_failure)
    }

    fn remove_messages_by(actor: Principal, sender: String) -> Result<u32, Failure> {
        let store = open_store()?;
        let actor = principal(actor);
        crate::remove_messages_by(&store, &NatsPublisher, &actor, &sender, now_ms())
            .map_err(to_wit_failure)
    }

    fn signal_user(
        sender: String,
        user: String,
        channel: String,
        kind: String,
        content: String,
    ) -> Result<(), Failure> {
        let store = open_store()?;
        let signal = crate::UserSignal {
            sender,
            user,
            channel,
            kind,
            content,
        };
        crate::signal_user(&store, &NatsPublisher, limits(), signal).map_err(to_wit_failure)
    }

    fn history(
        actor: Principal,
        room: String,
        before: Option<u64>,
        count: u32,
    ) -> Result<Vec<Message>, Failure> {
        let store = open_store()?;
        crate::history(&store, &principal(actor), &room, before, count)
            .map(|messages| messages.into_iter().map(to_wit_message).collect())
            .map_err(to_wit_failure)
    }

    fn next_event_id(actor: Principal, room: String) -> Result<u64, Failure> {
        let store = open_store()?;
        crate::next_event_id(&store, &principal(actor), &room).map_err(to_wit_failure)
    }

    fn react(
        actor: Principal,
        room: String,
        event_id: u64,
        reaction: String,
        add: bool,
    ) -> Result<Vec<Reaction>, Failure> {
        let store = open_store()?;
        let actor = principal(actor);
        crate::react(
            &store,
            &NatsPublisher,
            &actor,
            &room,
            event_id,
            &reaction,
            add,
            now_ms(),
        )
        .map(to_wit_reactions)
        .map_err(to_wit_failure)
    }

    fn reactions(
        actor: Principal,
        room: String,
        event_ids: Vec<u64>,
    ) -> Result<Vec<MessageReactions>, Failure> {
        let store = open_store()?;
        let found = crate::reactions(&store, &principal(actor), &room, &event_ids)
            .map_err(to_wit_failure)?;
        Ok(found
            .into_iter()
            .map(|(event_id, reactions)| MessageReactions {
                event_id,
                reactions: to_wit_reactions(reactions),
            })
            .collect())
    }

    fn mark_read(actor: Principal, room: String, event_id: u64) -> Result<bool, Failure> {
        let store = open_store()?;
        let actor = principal(actor);
        crate::mark_read(&store, &NatsPublisher, &actor, &room, event_id, now_ms())
            .map_err(to_wit_failure)
    }

    fn read_states(actor: Principal, rooms: Vec<String>) -> Result<Vec<ReadState>, Failure> {
        let store = open_store()?;
        let states =
            crate::read_state(&store, &principal(actor), &rooms).map_err(to_wit_failure)?;
        Ok(states
            .into_iter()
            .map(|s| ReadState {
                room: s.room,
                pointer: s.pointer,
                unread: s.unread,
            })
            .collect())
    }
}

fn open_store() -> Result<WasiStore, Failure> {
    WasiStore::open(keys::BUCKET).map_err(to_wit_failure)
}

/// Reads the limits from wasi:config; a missing or unreadable value falls back to the default
/// rather than refusing every message.
fn limits() -> Limits {
    let mut limits = Limits::default();
    match wasi::config::store::get(MAX_MESSAGE_BYTES_KEY) {
        Ok(None) => {}
        Ok(Some(value)) => match value.trim().parse::<usize>() {
            Ok(max) => limits.max_message_bytes = max,
            Err(e) => eprintln!("messages: ignoring {MAX_MESSAGE_BYTES_KEY}={value:?}: {e}"),
        },
        Err(e) => eprintln!("messages: cannot read {MAX_MESSAGE_BYTES_KEY}: {e:?}"),
    }
    limits
}

fn principal(actor: Principal) -> DomainPrincipal {
    match actor {
        Principal::User(id) => DomainPrincipal::User(id),
        Principal::Operator => DomainPrincipal::Operator,
        Principal::Server => DomainPrincipal::Server,
    }
}

fn to_wit_message(m: StoredMessage) -> Message {
    Message {
        id: m.id,
        room: m.room,
        event_id: m.event_id,
        sender: m.sender,
        channel: m.channel,
        event_type: m.event_type,
        // A parsed JSON value always serializes back to text.
        content: serde_json::to_string(&m.content).unwrap_or_default(),
        sent_at: m.sent_at,
    }
}

fn to_wit_reactions(reactions: wcc_interface::Reactions) -> Vec<Reaction> {
    reactions
        .into_iter()
        .map(|(reaction, users)| Reaction { reaction, users })
        .collect()
}

fn to_wit_failure(f: DomainFailure) -> Failure {
    Failure {
        code: f.code.as_str().to_string(),
        message: f.message,
    }
}

export!(Component);
