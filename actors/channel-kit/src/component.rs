//! The `wcc:chat` channel-actor bindings, generated once for every channel.
//!
//! [`Imports`] implements [`Backend`] over the imported core actors and wasi:config; the
//! functions below convert the exported interface's records to [`crate::session`] types and
//! back around a [`Channel`]. [`crate::export_channel!`] wires them up in a channel crate.

use wcc_interface::{Failure, FailureCode, StoredMessage};

use crate::backend::{
    Backend, Group, GroupChange, JoinRule, Member, NewMessage, OnlineUser, Principal, Reactions,
    ReadState, Room, Signal, User, UserSession, UserSignal,
};
use crate::session::{Action, Frame, Outcome, Session};
use crate::user_cache::UserCache;
use crate::Channel;

pub mod bindings {
    wit_bindgen::generate!({
        world: "channel-actor",
        path: "../../interface/wit",
        generate_all,
        pub_export_macro: true,
        default_bindings_module: "channel_kit::component::bindings",
    });
}

use bindings::exports::wcc::chat::channel as wit;
use bindings::wasi::config::store as config;
use bindings::wcc::chat::{access, messages, presence, rooms, types, users};

/// The core actors and settings as the imports reach them. A render remembers the users it
/// looked up for the rest of its call ([`UserCache`]); other calls, which may change a user
/// between two frames, look every time.
#[derive(Default)]
pub struct Imports {
    users: Option<UserCache>,
}

impl Imports {
    fn remembering_users() -> Self {
        Self {
            users: Some(UserCache::default()),
        }
    }
}

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
        id: m.id,
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

fn group(g: types::Group) -> Group {
    Group {
        name: g.name,
        permissions: g.permissions,
    }
}

fn principal(actor: &Principal) -> types::Principal {
    match actor {
        Principal::User(id) => types::Principal::User(id.clone()),
        Principal::Operator => types::Principal::Operator,
        Principal::Server => types::Principal::Server,
    }
}

fn reactions(list: Vec<messages::Reaction>) -> Reactions {
    list.into_iter().map(|r| (r.reaction, r.users)).collect()
}

fn room(r: types::Room) -> Room {
    Room {
        id: r.id,
        name: r.name,
        kind: r.kind,
    }
}

fn new_message(msg: NewMessage) -> types::NewMessage {
    types::NewMessage {
        origin: msg.origin,
        room: msg.room,
        sender: msg.sender,
        channel: msg.channel,
        event_type: msg.event_type,
        content: msg.content,
    }
}

impl Backend for Imports {
    fn process_message(&self, msg: NewMessage) -> Result<StoredMessage, Failure> {
        messages::process_message(&new_message(msg))
            .map(message)
            .map_err(failure)
    }

    fn process_messages(&self, msgs: Vec<NewMessage>) -> Vec<Result<StoredMessage, Failure>> {
        let count = msgs.len();
        let wit: Vec<types::NewMessage> = msgs.into_iter().map(new_message).collect();
        let answers = messages::process_messages(&wit);
        if answers.len() != count {
            // Not what the interface promises; nothing here can tell which were stored.
            let lost = Failure::unavailable("the core answered a batch of messages short");
            return (0..count).map(|_| Err(lost.clone())).collect();
        }
        answers
            .into_iter()
            .map(|answer| answer.map(message).map_err(failure))
            .collect()
    }

    fn history(
        &self,
        actor: &Principal,
        room: &str,
        before: Option<u64>,
        count: u32,
    ) -> Result<Vec<StoredMessage>, Failure> {
        let page = messages::history(&principal(actor), room, before, count).map_err(failure)?;
        Ok(page.into_iter().map(message).collect())
    }

    fn next_event_id(&self, actor: &Principal, room: &str) -> Result<u64, Failure> {
        messages::next_event_id(&principal(actor), room).map_err(failure)
    }

    fn get_message(&self, actor: &Principal, id: &str) -> Result<Option<StoredMessage>, Failure> {
        messages::get_message(&principal(actor), id)
            .map(|found| found.map(message))
            .map_err(failure)
    }

    fn signal(&self, note: Signal) -> Result<(), Failure> {
        let note = types::Signal {
            room: note.room,
            sender: note.sender,
            channel: note.channel,
            kind: note.kind,
            content: note.content,
        };
        messages::publish_signal(&note).map_err(failure)
    }

    fn edit_message(
        &self,
        actor: &Principal,
        room: &str,
        event_id: u64,
        content: &str,
    ) -> Result<StoredMessage, Failure> {
        messages::edit_message(&principal(actor), room, event_id, content)
            .map(message)
            .map_err(failure)
    }

    fn remove_message(
        &self,
        actor: &Principal,
        room: &str,
        event_id: u64,
    ) -> Result<StoredMessage, Failure> {
        messages::remove_message(&principal(actor), room, event_id)
            .map(message)
            .map_err(failure)
    }

    fn remove_messages_by(&self, actor: &Principal, sender: &str) -> Result<u32, Failure> {
        messages::remove_messages_by(&principal(actor), sender).map_err(failure)
    }

    fn signal_user(&self, s: UserSignal) -> Result<(), Failure> {
        messages::signal_user(&s.sender, &s.user, &s.channel, &s.kind, &s.content).map_err(failure)
    }

    fn react(
        &self,
        actor: &Principal,
        room: &str,
        event_id: u64,
        reaction: &str,
        add: bool,
    ) -> Result<Reactions, Failure> {
        messages::react(&principal(actor), room, event_id, reaction, add)
            .map(reactions)
            .map_err(failure)
    }

    fn reactions(
        &self,
        actor: &Principal,
        room: &str,
        event_ids: &[u64],
    ) -> Result<Vec<(u64, Reactions)>, Failure> {
        let found = messages::reactions(&principal(actor), room, event_ids).map_err(failure)?;
        Ok(found
            .into_iter()
            .map(|m| (m.event_id, reactions(m.reactions)))
            .collect())
    }

    fn mark_read(&self, actor: &Principal, room: &str, event_id: u64) -> Result<bool, Failure> {
        messages::mark_read(&principal(actor), room, event_id).map_err(failure)
    }

    fn read_state(&self, actor: &Principal, rooms: &[String]) -> Result<Vec<ReadState>, Failure> {
        let states = messages::read_states(&principal(actor), rooms).map_err(failure)?;
        Ok(states
            .into_iter()
            .map(|s| ReadState {
                room: s.room,
                pointer: s.pointer,
                unread: s.unread,
            })
            .collect())
    }

    fn create_room(
        &self,
        actor: &Principal,
        id: &str,
        name: &str,
        kind: &str,
    ) -> Result<bool, Failure> {
        rooms::create_room(&principal(actor), id, name, kind).map_err(failure)
    }

    fn get_room(&self, id: &str) -> Result<Option<Room>, Failure> {
        rooms::get_room(id).map(|r| r.map(room)).map_err(failure)
    }

    fn query_rooms(&self, member: &str) -> Result<Vec<Room>, Failure> {
        let found = rooms::query_rooms(Some(member)).map_err(failure)?;
        Ok(found.into_iter().map(room).collect())
    }

    fn all_rooms(&self) -> Result<Vec<Room>, Failure> {
        let found = rooms::query_rooms(None).map_err(failure)?;
        Ok(found.into_iter().map(room).collect())
    }

    fn rename_room(&self, actor: &Principal, id: &str, name: &str) -> Result<Room, Failure> {
        rooms::rename_room(&principal(actor), id, name)
            .map(room)
            .map_err(failure)
    }

    fn delete_room(&self, actor: &Principal, id: &str) -> Result<(), Failure> {
        rooms::delete_room(&principal(actor), id).map_err(failure)
    }

    fn query_members(&self, actor: &Principal, room: &str) -> Result<Vec<String>, Failure> {
        let members = rooms::query_members(&principal(actor), room).map_err(failure)?;
        Ok(members.into_iter().map(|m| m.user).collect())
    }

    fn members(&self, actor: &Principal, room: &str) -> Result<Vec<Member>, Failure> {
        let members = rooms::query_members(&principal(actor), room).map_err(failure)?;
        Ok(members
            .into_iter()
            .map(|m| Member {
                user: m.user,
                joined_at: m.joined_at,
            })
            .collect())
    }

    fn get_join_rule(&self, room: &str) -> Result<Option<JoinRule>, Failure> {
        let rule = rooms::get_join_rule(room).map_err(failure)?;
        Ok(rule.map(|r| JoinRule {
            key: r.key,
            value: r.value,
        }))
    }

    fn join(
        &self,
        actor: &Principal,
        room: &str,
        user: &str,
        channel: &str,
        origin: Option<&str>,
    ) -> Result<bool, Failure> {
        rooms::join(&principal(actor), room, user, channel, origin).map_err(failure)
    }

    fn leave(
        &self,
        actor: &Principal,
        room: &str,
        user: &str,
        channel: &str,
        origin: Option<&str>,
    ) -> Result<bool, Failure> {
        rooms::leave(&principal(actor), room, user, channel, origin).map_err(failure)
    }

    fn grant_subscription(&self, actor: &Principal, room: &str) -> Result<String, Failure> {
        rooms::grant_subscription(&principal(actor), room).map_err(failure)
    }

    fn grant_subscriptions(
        &self,
        actor: &Principal,
        rooms: &[String],
    ) -> Result<Vec<Result<String, Failure>>, Failure> {
        let answers = rooms::grant_subscriptions(&principal(actor), rooms).map_err(failure)?;
        // Callers pair answers with rooms by position.
        if answers.len() != rooms.len() {
            return Err(Failure::unavailable(format!(
                "{} grants answered for {} rooms",
                answers.len(),
                rooms.len()
            )));
        }
        Ok(answers
            .into_iter()
            .map(|answer| answer.map_err(failure))
            .collect())
    }

    fn directory_version(&self, part: &str) -> Result<u64, Failure> {
        rooms::directory_version(part).map_err(failure)
    }

    fn login(&self, channel: &str, client_id: &str) -> Result<User, Failure> {
        users::login(channel, client_id).map(user).map_err(failure)
    }

    fn guest(&self, connection_id: &str) -> Result<User, Failure> {
        users::guest(connection_id).map(user).map_err(failure)
    }

    fn get_user(&self, id: &str) -> Result<Option<User>, Failure> {
        match &self.users {
            Some(_) => Ok(self.get_users(&[id.to_owned()])?.pop()),
            None => users::get_user(id).map(|u| u.map(user)).map_err(failure),
        }
    }

    fn get_users(&self, ids: &[String]) -> Result<Vec<User>, Failure> {
        let fetch = |ids: &[String]| -> Result<Vec<User>, Failure> {
            let found = users::get_users(ids).map_err(failure)?;
            Ok(found.into_iter().map(user).collect())
        };
        match &self.users {
            Some(cache) => cache.users(ids, fetch),
            None => fetch(ids),
        }
    }

    fn set_profile(&self, actor: &Principal, id: &str, profile: &str) -> Result<User, Failure> {
        users::set_profile(&principal(actor), id, profile)
            .map(user)
            .map_err(failure)
    }

    fn list_users(&self) -> Result<Vec<User>, Failure> {
        let found = users::list_users().map_err(failure)?;
        Ok(found.into_iter().map(user).collect())
    }

    fn delete_user(&self, actor: &Principal, id: &str) -> Result<bool, Failure> {
        users::delete_user(&principal(actor), id).map_err(failure)
    }

    fn find_login(&self, channel: &str, client_id: &str) -> Result<Option<User>, Failure> {
        users::find_login(channel, client_id)
            .map(|u| u.map(user))
            .map_err(failure)
    }

    fn register(
        &self,
        channel: &str,
        client_id: &str,
        password: &str,
        id: Option<&str>,
        remote: &str,
    ) -> Result<User, Failure> {
        users::register(channel, client_id, password, id, remote)
            .map(user)
            .map_err(failure)
    }

    fn authenticate(
        &self,
        channel: &str,
        client_id: &str,
        password: &str,
        remote: &str,
    ) -> Result<User, Failure> {
        users::authenticate(channel, client_id, password, remote)
            .map(user)
            .map_err(failure)
    }

    fn issue_token(&self, user: &str) -> Result<String, Failure> {
        users::issue_token(user).map_err(failure)
    }

    fn token_user(&self, token: &str) -> Result<Option<String>, Failure> {
        users::token_user(token).map_err(failure)
    }

    fn revoke_token(&self, token: &str) -> Result<bool, Failure> {
        users::revoke_token(token).map_err(failure)
    }

    fn change_password(
        &self,
        channel: &str,
        client_id: &str,
        old_password: &str,
        new_password: &str,
        remote: &str,
    ) -> Result<(), Failure> {
        users::change_password(channel, client_id, old_password, new_password, remote)
            .map_err(failure)
    }

    fn ban(&self, user: &str, target: &str) -> Result<bool, Failure> {
        users::ban(user, target).map_err(failure)
    }

    fn unban(&self, user: &str, target: &str) -> Result<bool, Failure> {
        users::unban(user, target).map_err(failure)
    }

    fn list_groups(&self) -> Result<Vec<Group>, Failure> {
        let found = access::list_groups().map_err(failure)?;
        Ok(found.into_iter().map(group).collect())
    }

    fn create_group(&self, actor: &Principal, name: &str) -> Result<bool, Failure> {
        access::create_group(&principal(actor), name).map_err(failure)
    }

    fn update_group(
        &self,
        actor: &Principal,
        name: &str,
        changes: &[GroupChange],
    ) -> Result<Group, Failure> {
        let changes: Vec<types::GroupChange> = changes
            .iter()
            .map(|c| types::GroupChange {
                add: c.add.clone(),
                remove: c.remove.clone(),
            })
            .collect();
        access::update_group(&principal(actor), name, &changes)
            .map(group)
            .map_err(failure)
    }

    fn remove_group(&self, actor: &Principal, name: &str) -> Result<bool, Failure> {
        access::remove_group(&principal(actor), name).map_err(failure)
    }

    fn user_group(&self, user: &str) -> Result<Option<String>, Failure> {
        access::user_group(user).map_err(failure)
    }

    fn set_user_group(&self, actor: &Principal, user: &str, group: &str) -> Result<(), Failure> {
        access::set_user_group(&principal(actor), user, group).map_err(failure)
    }

    fn permissions(&self, user: &str) -> Result<Vec<String>, Failure> {
        access::permissions(user).map_err(failure)
    }

    fn create_invite(&self, actor: &Principal, group: &str) -> Result<String, Failure> {
        access::create_invite(&principal(actor), group).map_err(failure)
    }

    fn redeem_invite(&self, code: &str) -> Result<Option<String>, Failure> {
        access::redeem_invite(code).map_err(failure)
    }

    fn claim_founder(&self, actor: &Principal, user: &str) -> Result<bool, Failure> {
        access::claim_founder(&principal(actor), user).map_err(failure)
    }

    fn make_admin(&self, actor: &Principal, user: &str) -> Result<(), Failure> {
        access::make_admin(&principal(actor), user).map_err(failure)
    }

    fn online_users(&self) -> Result<Vec<OnlineUser>, Failure> {
        let found = presence::online_users().map_err(failure)?;
        Ok(found
            .into_iter()
            .map(|u| OnlineUser {
                user: u.user,
                channels: u.channels,
            })
            .collect())
    }

    fn user_sessions(&self, user: &str) -> Result<Vec<UserSession>, Failure> {
        let found = presence::user_sessions(user).map_err(failure)?;
        Ok(found
            .into_iter()
            .map(|s| UserSession {
                connection: s.connection,
                channel: s.channel,
            })
            .collect())
    }

    fn setting(&self, key: &str) -> Option<String> {
        // An unreadable configuration reads as unset: every setting has a default.
        config::get(key).ok().flatten()
    }

    fn now_ms(&self) -> u64 {
        wcc_interface::clock::now_ms()
    }
}

fn session_in(s: wit::Session) -> Session {
    Session {
        connection_id: s.connection_id,
        transport: s.transport,
        remote: s.remote,
        user: s.user,
        data: s.data,
    }
}

fn session_out(s: Session) -> wit::Session {
    wit::Session {
        connection_id: s.connection_id,
        transport: s.transport,
        remote: s.remote,
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

pub fn opened<C: Channel>(session: wit::Session) -> wit::Outcome {
    outcome_out(C::opened(session_in(session), &Imports::default()))
}

pub fn received<C: Channel>(session: wit::Session, frames: Vec<wit::Frame>) -> wit::Outcome {
    let frames = frames.into_iter().map(frame_in).collect();
    outcome_out(C::received_frames(
        session_in(session),
        frames,
        &Imports::default(),
    ))
}

pub fn notified<C: Channel>(session: wit::Session, note: String) -> wit::Outcome {
    let imports = Imports::default();
    outcome_out(crate::dispatch_note(
        session_in(session),
        &note,
        |session, note| C::notified(session, note, &imports),
    ))
}

pub fn closed<C: Channel>(session: wit::Session) {
    C::closed(session_in(session), &Imports::default())
}

pub fn render<C: Channel>(events: Vec<String>) -> Vec<Vec<wit::Frame>> {
    let imports = Imports::remembering_users();
    C::render_batch(&events, &imports)
        .into_iter()
        .map(|frames| frames.into_iter().map(wit::Frame::Text).collect())
        .collect()
}

/// Exports `$channel` (a type implementing [`Channel`]) as this component's `wcc:chat/channel`.
#[macro_export]
macro_rules! export_channel {
    ($channel:ty) => {
        struct ExportedChannel;

        impl $crate::component::bindings::exports::wcc::chat::channel::Guest for ExportedChannel {
            fn opened(
                session: $crate::component::bindings::exports::wcc::chat::channel::Session,
            ) -> $crate::component::bindings::exports::wcc::chat::channel::Outcome {
                $crate::component::opened::<$channel>(session)
            }

            fn received(
                session: $crate::component::bindings::exports::wcc::chat::channel::Session,
                frames: Vec<$crate::component::bindings::exports::wcc::chat::channel::Frame>,
            ) -> $crate::component::bindings::exports::wcc::chat::channel::Outcome {
                $crate::component::received::<$channel>(session, frames)
            }

            fn notified(
                session: $crate::component::bindings::exports::wcc::chat::channel::Session,
                note: String,
            ) -> $crate::component::bindings::exports::wcc::chat::channel::Outcome {
                $crate::component::notified::<$channel>(session, note)
            }

            fn closed(session: $crate::component::bindings::exports::wcc::chat::channel::Session) {
                $crate::component::closed::<$channel>(session)
            }

            fn render(
                events: Vec<String>,
            ) -> Vec<Vec<$crate::component::bindings::exports::wcc::chat::channel::Frame>> {
                $crate::component::render::<$channel>(events)
            }
        }

        $crate::component::bindings::export!(ExportedChannel with_types_in $crate::component::bindings);
    };
}
