//! The component's skin: generated bindings in, core calls out.
//!
//! Only this file knows the `wcc:chat` WIT types. It implements [`Backend`] over the imported
//! messages/rooms/users interfaces and the exported `channel` interface over the pure core, so
//! that everything with behaviour stays natively testable.

use wcc_interface::{Failure, FailureCode, StoredMessage};

use crate::backend::{Backend, NewMessage, Room, User};
use crate::session::{Action, Frame, Outcome, Session};
use crate::{handler, render};

wit_bindgen::generate!({
    world: "channel-actor",
    path: "../../interface/wit",
    generate_all,
});

use exports::wcc::chat::channel as wit;
use wcc::chat::{messages, rooms, types, users};

/// The core actors as the imported interfaces reach them.
struct Imports;

/// A failure code this build does not know is treated as the safe one: "try again later".
fn failure(f: types::Failure) -> Failure {
    Failure::new(
        FailureCode::parse(&f.code).unwrap_or(FailureCode::Unavailable),
        f.message,
    )
}

fn message(m: types::Message) -> StoredMessage {
    // Content is a JSON object by contract; anything else is kept as text rather than dropped.
    let content = serde_json::from_str(&m.content).unwrap_or(serde_json::Value::String(m.content));
    StoredMessage {
        room: m.room,
        event_id: m.event_id,
        sender: m.sender,
        channel: m.channel,
        event_type: m.event_type,
        content,
        sent_at: m.sent_at,
    }
}

fn user(u: types::User) -> User {
    User {
        id: u.id,
        profile: u.profile,
    }
}

fn room(r: types::Room) -> Room {
    Room {
        id: r.id,
        name: r.name,
        kind: r.kind,
    }
}

impl Backend for Imports {
    fn process_message(&self, msg: NewMessage) -> Result<StoredMessage, Failure> {
        let msg = types::NewMessage {
            room: msg.room,
            sender: msg.sender,
            channel: msg.channel,
            event_type: msg.event_type,
            content: msg.content,
        };
        messages::process_message(&msg)
            .map(message)
            .map_err(failure)
    }

    fn history(
        &self,
        room: &str,
        before: Option<u64>,
        count: u32,
    ) -> Result<Vec<StoredMessage>, Failure> {
        let page = messages::history(room, before, count).map_err(failure)?;
        Ok(page.into_iter().map(message).collect())
    }

    fn next_event_id(&self, room: &str) -> Result<u64, Failure> {
        messages::next_event_id(room).map_err(failure)
    }

    fn get_room(&self, id: &str) -> Result<Option<Room>, Failure> {
        rooms::get_room(id).map(|r| r.map(room)).map_err(failure)
    }

    fn query_rooms(&self, member: &str) -> Result<Vec<Room>, Failure> {
        let found = rooms::query_rooms(Some(member)).map_err(failure)?;
        Ok(found.into_iter().map(room).collect())
    }

    fn query_members(&self, room: &str) -> Result<Vec<String>, Failure> {
        let members = rooms::query_members(room).map_err(failure)?;
        Ok(members.into_iter().map(|m| m.user).collect())
    }

    fn join(&self, room: &str, user: &str, channel: &str) -> Result<bool, Failure> {
        rooms::join(room, user, channel).map_err(failure)
    }

    fn leave(&self, room: &str, user: &str, channel: &str) -> Result<bool, Failure> {
        rooms::leave(room, user, channel).map_err(failure)
    }

    fn login(&self, channel: &str, client_id: &str) -> Result<User, Failure> {
        users::login(channel, client_id).map(user).map_err(failure)
    }

    fn get_user(&self, id: &str) -> Result<Option<User>, Failure> {
        users::get_user(id).map(|u| u.map(user)).map_err(failure)
    }

    fn get_users(&self, ids: &[String]) -> Result<Vec<User>, Failure> {
        let found = users::get_users(ids).map_err(failure)?;
        Ok(found.into_iter().map(user).collect())
    }

    fn set_profile(&self, id: &str, profile: &str) -> Result<User, Failure> {
        users::set_profile(id, profile).map(user).map_err(failure)
    }
}

fn session_in(s: wit::Session) -> Session {
    Session {
        connection_id: s.connection_id,
        user: s.user,
        data: s.data,
    }
}

fn session_out(s: Session) -> wit::Session {
    wit::Session {
        connection_id: s.connection_id,
        user: s.user,
        data: s.data,
    }
}

fn frame_in(f: wit::Frame) -> Frame {
    match f {
        wit::Frame::Text(text) => Frame::Text(text),
        wit::Frame::Binary(bytes) => Frame::Binary(bytes),
        wit::Frame::Oversize(len) => Frame::Oversize(len),
    }
}

fn action_out(a: Action) -> wit::Action {
    match a {
        Action::Send(text) => wit::Action::Send(wit::Frame::Text(text)),
        Action::Subscribe(room) => wit::Action::Subscribe(room),
        Action::Unsubscribe(room) => wit::Action::Unsubscribe(room),
        Action::Close(code, reason) => wit::Action::Close((code, reason)),
    }
}

fn outcome_out(o: Outcome) -> wit::Outcome {
    wit::Outcome {
        session: session_out(o.session),
        actions: o.actions.into_iter().map(action_out).collect(),
    }
}

struct Component;

impl wit::Guest for Component {
    fn opened(session: wit::Session) -> wit::Outcome {
        outcome_out(handler::opened(session_in(session)))
    }

    fn received(session: wit::Session, frame: wit::Frame) -> wit::Outcome {
        outcome_out(handler::received(
            session_in(session),
            frame_in(frame),
            &Imports,
        ))
    }

    /// Membership outlives the connection in venueless and the gateway publishes the logout, so
    /// there is nothing to tidy up.
    fn closed(_session: wit::Session) {}

    fn render(event: String) -> Option<wit::Frame> {
        render::render(&event, &Imports).map(wit::Frame::Text)
    }
}

export!(Component);
