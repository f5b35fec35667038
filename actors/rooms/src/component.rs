//! The component shell: WIT values in, domain calls, WIT values out. No decisions are made here;
//! they are all in the natively tested modules.
//!
//! Two binding sets live in this one component. wit-bindgen generates the `rooms-actor` world
//! (imports wasi:config/store, wasmcloud:messaging/consumer, wcc:chat/presence and
//! wcc:chat/messages; exports wcc:chat/rooms, wcc:chat/users, wcc:chat/access and
//! wcc:chat/admin), and the `wasi` crate's own bindings provide the
//! wasi:http/incoming-handler export for the admin API. They export disjoint interfaces, and
//! the interfaces both import (wasi:io and friends) are merged by the component linker.

use wcc_interface::clock::now_ms;

use wcc_bus::NatsPublisher;
use wcc_interface::{grant, Failure, FailureCode, Principal, StoredMessage};
use wcc_kv::{keys, WasiStore};

use crate::access::GroupChange;
use crate::admin::{self, Admin, OnlineUser, Presence, UserSession};
use crate::operator::Messages;
use crate::users::new_user_id;
use crate::{
    Access, Accounts, Administration, Group, JoinRule, Member, Operator, PasswordPolicy, Room,
    Rooms, User, Users,
};

mod bindings {
    wit_bindgen::generate!({
        world: "rooms-actor",
        path: "../../interface/wit",
        generate_all,
    });
}

mod http;

use bindings::exports::wasmcloud::messaging::handler as wit_handler;
use bindings::exports::wcc::chat::{
    access as wit_access, admin as wit_admin, rooms as wit_rooms, users as wit_users,
};
use bindings::wcc::chat::types as wit;

/// The one type behind every export.
pub(crate) struct Component;

bindings::export!(Component with_types_in bindings);

/// Asks the presence actor over wcc:chat/presence.
struct PresenceActor;

impl Presence for PresenceActor {
    fn online_users(&self) -> Result<Vec<OnlineUser>, Failure> {
        let users = bindings::wcc::chat::presence::online_users().map_err(from_wit)?;
        Ok(users
            .into_iter()
            .map(|u| OnlineUser {
                user: u.user,
                channels: u.channels,
            })
            .collect())
    }

    fn user_sessions(&self, user: &str) -> Result<Vec<UserSession>, Failure> {
        let sessions = bindings::wcc::chat::presence::user_sessions(user).map_err(from_wit)?;
        Ok(sessions
            .into_iter()
            .map(|s| UserSession {
                connection: s.connection,
                channel: s.channel,
            })
            .collect())
    }
}

/// Asks the messages actor over wcc:chat/messages.
struct MessagesActor;

impl Messages for MessagesActor {
    fn announce(
        &self,
        room: &str,
        channel: &str,
        event_type: &str,
        content: &str,
    ) -> Result<StoredMessage, Failure> {
        let m = bindings::wcc::chat::messages::announce(room, channel, event_type, content)
            .map_err(from_wit)?;
        stored_message(m)
    }

    fn history(
        &self,
        actor: &Principal,
        room: &str,
        before: Option<u64>,
        count: u32,
    ) -> Result<Vec<StoredMessage>, Failure> {
        bindings::wcc::chat::messages::history(&to_wit_principal(actor), room, before, count)
            .map_err(from_wit)?
            .into_iter()
            .map(stored_message)
            .collect()
    }

    fn remove_message(
        &self,
        actor: &Principal,
        room: &str,
        event_id: u64,
    ) -> Result<StoredMessage, Failure> {
        let m =
            bindings::wcc::chat::messages::remove_message(&to_wit_principal(actor), room, event_id)
                .map_err(from_wit)?;
        stored_message(m)
    }
}

/// A message as the messages actor returned it.
fn stored_message(m: wit::Message) -> Result<StoredMessage, Failure> {
    let content = serde_json::from_str(&m.content).map_err(|e| {
        Failure::unavailable(format!("messages actor returned non-JSON content: {e}"))
    })?;
    Ok(StoredMessage {
        id: m.id,
        room: m.room,
        event_id: m.event_id,
        sender: m.sender,
        channel: m.channel,
        event_type: m.event_type,
        content,
        sent_at: m.sent_at,
    })
}

fn open() -> Result<WasiStore, wit::Failure> {
    WasiStore::open(keys::BUCKET).map_err(to_wit)
}

/// The bucket that forgets sign-in throttling records by age.
fn open_throttles() -> Result<WasiStore, wit::Failure> {
    WasiStore::open(keys::THROTTLE_BUCKET).map_err(to_wit)
}

/// The HMAC key of subscription grants (`wcc_interface::grant`), shared with the gateways only.
const SUBSCRIPTION_KEY: &str = "subscription_key";

/// One value of this component's configuration (`None` if unset).
fn config(key: &str) -> Result<Option<String>, wit::Failure> {
    bindings::wasi::config::store::get(key)
        .map_err(|e| to_wit(Failure::unavailable(format!("reading {key}: {e:?}"))))
}

/// The key grants are signed with; no grant without one long enough.
fn subscription_key() -> Result<String, wit::Failure> {
    config(SUBSCRIPTION_KEY)?
        .filter(|key| key.len() >= grant::MIN_KEY_BYTES)
        .ok_or_else(|| {
            to_wit(Failure::unavailable(format!(
                "no {SUBSCRIPTION_KEY} of {} bytes or more is configured",
                grant::MIN_KEY_BYTES
            )))
        })
}

fn principal(actor: wit::Principal) -> Principal {
    match actor {
        wit::Principal::User(id) => Principal::User(id),
        wit::Principal::Operator => Principal::Operator,
        wit::Principal::Server => Principal::Server,
    }
}

fn to_wit_principal(actor: &Principal) -> wit::Principal {
    match actor {
        Principal::User(id) => wit::Principal::User(id.clone()),
        Principal::Operator => wit::Principal::Operator,
        Principal::Server => wit::Principal::Server,
    }
}

fn to_wit(failure: Failure) -> wit::Failure {
    wit::Failure {
        code: failure.code.as_str().to_string(),
        message: failure.message,
    }
}

fn from_wit(failure: wit::Failure) -> Failure {
    // A code this build does not know still means the call failed.
    Failure::new(
        FailureCode::parse(&failure.code).unwrap_or(FailureCode::Unavailable),
        failure.message,
    )
}

fn room(room: Room) -> wit::Room {
    wit::Room {
        id: room.id,
        name: room.name,
        kind: room.kind,
        created_at: room.created_at,
    }
}

fn group(group: Group) -> wit::Group {
    wit::Group {
        name: group.name,
        permissions: group.permissions,
    }
}

fn user(user: User) -> wit::User {
    wit::User {
        id: user.id,
        profile: user.profile.map(|p| p.to_string()),
        created_at: user.created_at,
    }
}

fn join_rule(rule: JoinRule) -> wit::JoinRule {
    wit::JoinRule {
        value: rule.value_text(),
        key: rule.key,
    }
}

fn message(m: StoredMessage) -> wit::Message {
    wit::Message {
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

fn member(member: Member) -> wit::Member {
    wit::Member {
        user: member.user,
        joined_at: member.joined_at,
    }
}

/// The admin API's view of the world, built fresh for each request.
pub(crate) fn admin_handle(req: &admin::Request) -> admin::Response {
    let store = match WasiStore::open(keys::BUCKET) {
        Ok(store) => store,
        Err(failure) => return admin::Response::failure(&failure),
    };
    let admin = Admin {
        store: &store,
        publisher: &NatsPublisher,
        presence: &PresenceActor,
        messages: &MessagesActor,
        // Only the token's hash is configured (named config is readable by any provider).
        token_sha256: admin_config("admin_token_sha256"),
        console_feed_url: console_feed_url(req),
        console_files: crate::console_files::file,
    };
    admin.handle(req, now_ms())
}

/// The console feed's websocket URL, from config and the page's own `host`.
fn console_feed_url(req: &admin::Request) -> Result<Option<String>, Failure> {
    let host = req
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("host"))
        .and_then(|(_, value)| std::str::from_utf8(value).ok());
    Ok(admin::console::feed_url(
        admin_config("console_feed_url")?.as_deref(),
        admin_config("gateway_addr")?.as_deref(),
        host,
    ))
}

/// One value of the component's config for the admin API, its read failure as the API says it.
fn admin_config(key: &str) -> Result<Option<String>, Failure> {
    bindings::wasi::config::store::get(key).map_err(|e| {
        let reason = match e {
            bindings::wasi::config::store::Error::Upstream(r)
            | bindings::wasi::config::store::Error::Io(r) => r,
        };
        Failure::unavailable(format!("reading {key}: {reason}"))
    })
}

/// `wcc.events`, the gateways' session events: a session's end ends its guest.
impl wit_handler::Guest for Component {
    fn handle_message(
        msg: bindings::wasmcloud::messaging::types::BrokerMessage,
    ) -> Result<(), String> {
        // Heartbeats, logins and accounts' logouts are most of it: they need no store.
        let Some((guest, connection)) = crate::users::guest_logout(&msg.body) else {
            return Ok(());
        };
        // An error makes the host log it; the message is not redelivered either way.
        let store = WasiStore::open(keys::BUCKET).map_err(|e| e.to_string())?;
        Users::new(&store, &NatsPublisher)
            .session_ended(&guest, &connection, now_ms())
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

impl wit_rooms::Guest for Component {
    fn create_room(
        actor: wit::Principal,
        id: String,
        name: String,
        kind: String,
    ) -> Result<bool, wit::Failure> {
        let (store, actor) = (open()?, principal(actor));
        Administration::new(&store, &NatsPublisher, &actor)
            .create_room(&id, &name, &kind, now_ms())
            .map_err(to_wit)
    }

    fn query_rooms(member: Option<String>) -> Result<Vec<wit::Room>, wit::Failure> {
        let store = open()?;
        let rooms = Rooms::new(&store, &NatsPublisher)
            .query_rooms(member.as_deref())
            .map_err(to_wit)?;
        Ok(rooms.into_iter().map(room).collect())
    }

    fn get_room(id: String) -> Result<Option<wit::Room>, wit::Failure> {
        let store = open()?;
        Ok(Rooms::new(&store, &NatsPublisher)
            .get_room(&id)
            .map_err(to_wit)?
            .map(room))
    }

    fn delete_room(actor: wit::Principal, id: String) -> Result<(), wit::Failure> {
        let (store, actor) = (open()?, principal(actor));
        Administration::new(&store, &NatsPublisher, &actor)
            .delete_room(&id, now_ms())
            .map_err(to_wit)
    }

    fn rename_room(
        actor: wit::Principal,
        id: String,
        name: String,
    ) -> Result<wit::Room, wit::Failure> {
        let (store, actor) = (open()?, principal(actor));
        Administration::new(&store, &NatsPublisher, &actor)
            .rename_room(&id, &name)
            .map(room)
            .map_err(to_wit)
    }

    fn query_members(
        actor: wit::Principal,
        room: String,
    ) -> Result<Vec<wit::Member>, wit::Failure> {
        let store = open()?;
        let members = Rooms::new(&store, &NatsPublisher)
            .query_members_as(&principal(actor), &room)
            .map_err(to_wit)?;
        Ok(members.into_iter().map(member).collect())
    }

    fn is_member(room: String, user: String) -> Result<bool, wit::Failure> {
        let store = open()?;
        Rooms::new(&store, &NatsPublisher)
            .is_member(&room, &user)
            .map_err(to_wit)
    }

    fn join(
        actor: wit::Principal,
        room: String,
        user: String,
        channel: String,
        origin: Option<String>,
    ) -> Result<bool, wit::Failure> {
        let store = open()?;
        Rooms::new(&store, &NatsPublisher)
            .join_as(
                &principal(actor),
                &room,
                &user,
                &channel,
                origin.as_deref(),
                now_ms(),
            )
            .map_err(to_wit)
    }

    fn leave(
        actor: wit::Principal,
        room: String,
        user: String,
        channel: String,
        origin: Option<String>,
    ) -> Result<bool, wit::Failure> {
        let store = open()?;
        Rooms::new(&store, &NatsPublisher)
            .leave_as(
                &principal(actor),
                &room,
                &user,
                &channel,
                origin.as_deref(),
                now_ms(),
            )
            .map_err(to_wit)
    }

    fn get_join_rule(room: String) -> Result<Option<wit::JoinRule>, wit::Failure> {
        let store = open()?;
        Ok(Rooms::new(&store, &NatsPublisher)
            .get_join_rule(&room)
            .map_err(to_wit)?
            .map(join_rule))
    }

    fn grant_subscription(actor: wit::Principal, room: String) -> Result<String, wit::Failure> {
        let store = open()?;
        let key = subscription_key()?;
        Rooms::new(&store, &NatsPublisher)
            .grant_subscription(&principal(actor), &room, key.as_bytes(), now_ms())
            .map_err(to_wit)
    }

    fn grant_subscriptions(
        actor: wit::Principal,
        rooms: Vec<String>,
    ) -> Result<Vec<Result<String, wit::Failure>>, wit::Failure> {
        let store = open()?;
        let key = subscription_key()?;
        let answers = Rooms::new(&store, &NatsPublisher)
            .grant_subscriptions(&principal(actor), &rooms, key.as_bytes(), now_ms())
            .map_err(to_wit)?;
        Ok(answers
            .into_iter()
            .map(|answer| answer.map_err(to_wit))
            .collect())
    }

    fn directory_version(part: String) -> Result<u64, wit::Failure> {
        let store = open()?;
        crate::directory_version(&store, &part).map_err(to_wit)
    }
}

impl wit_admin::Guest for Component {
    fn set_join_rule(room: String, rule: Option<wit::JoinRule>) -> Result<(), wit::Failure> {
        let store = open()?;
        let rule = rule
            .map(|rule| JoinRule::from_text(&rule.key, &rule.value))
            .transpose()
            .map_err(to_wit)?;
        Rooms::new(&store, &NatsPublisher)
            .set_join_rule(&room, rule.as_ref())
            .map_err(to_wit)
    }

    fn add_member(room: String, user: String) -> Result<bool, wit::Failure> {
        let store = open()?;
        Operator::new(&store, &NatsPublisher, &MessagesActor)
            .add_member(&room, &user, now_ms())
            .map_err(to_wit)
    }

    fn remove_member(room: String, user: String) -> Result<bool, wit::Failure> {
        let store = open()?;
        Operator::new(&store, &NatsPublisher, &MessagesActor)
            .remove_member(&room, &user, now_ms())
            .map_err(to_wit)
    }

    fn broadcast(room: String, content: String) -> Result<wit::Message, wit::Failure> {
        let store = open()?;
        Operator::new(&store, &NatsPublisher, &MessagesActor)
            .broadcast(&room, &content)
            .map(message)
            .map_err(to_wit)
    }

    fn send_to_connection(connection_id: String, content: String) -> Result<(), wit::Failure> {
        let store = open()?;
        Operator::new(&store, &NatsPublisher, &MessagesActor)
            .send_to_connection(&connection_id, &content, now_ms())
            .map_err(to_wit)
    }
}

impl wit_users::Guest for Component {
    fn login(channel: String, client_id: String) -> Result<wit::User, wit::Failure> {
        let store = open()?;
        Users::new(&store, &NatsPublisher)
            .login(&channel, &client_id, now_ms(), new_user_id)
            .map(user)
            .map_err(to_wit)
    }

    fn guest(connection_id: String) -> Result<wit::User, wit::Failure> {
        let store = open()?;
        Users::new(&store, &NatsPublisher)
            .guest(&connection_id, now_ms())
            .map(user)
            .map_err(to_wit)
    }

    fn get_user(id: String) -> Result<Option<wit::User>, wit::Failure> {
        let store = open()?;
        Ok(Users::new(&store, &NatsPublisher)
            .get_user(&id)
            .map_err(to_wit)?
            .map(user))
    }

    fn get_users(ids: Vec<String>) -> Result<Vec<wit::User>, wit::Failure> {
        let store = open()?;
        Ok(Users::new(&store, &NatsPublisher)
            .get_users(&ids)
            .map_err(to_wit)?
            .into_iter()
            .map(user)
            .collect())
    }

    fn set_profile(
        actor: wit::Principal,
        id: String,
        profile: String,
    ) -> Result<wit::User, wit::Failure> {
        let (store, actor) = (open()?, principal(actor));
        Administration::new(&store, &NatsPublisher, &actor)
            .set_profile(&id, &profile)
            .map(user)
            .map_err(to_wit)
    }

    fn list_users() -> Result<Vec<wit::User>, wit::Failure> {
        let store = open()?;
        let users = Users::new(&store, &NatsPublisher)
            .list_users()
            .map_err(to_wit)?;
        Ok(users.into_iter().map(user).collect())
    }

    fn delete_user(actor: wit::Principal, id: String) -> Result<bool, wit::Failure> {
        let (store, actor) = (open()?, principal(actor));
        Administration::new(&store, &NatsPublisher, &actor)
            .delete_user(&id, now_ms())
            .map_err(to_wit)
    }

    fn find_login(channel: String, client_id: String) -> Result<Option<wit::User>, wit::Failure> {
        let store = open()?;
        Ok(Users::new(&store, &NatsPublisher)
            .find_login(&channel, &client_id)
            .map_err(to_wit)?
            .map(user))
    }

    fn register(
        channel: String,
        client_id: String,
        password: String,
        id: Option<String>,
        remote: String,
    ) -> Result<wit::User, wit::Failure> {
        let (store, throttles) = (open()?, open_throttles()?);
        let salt = crate::accounts::new_salt().map_err(to_wit)?;
        let who = crate::accounts::Credentials {
            channel: &channel,
            client_id: &client_id,
            password: &password,
            remote: &remote,
        };
        Accounts::new(&store, &NatsPublisher)
            .with_throttles_in(&throttles)
            .register(
                &PasswordPolicy::default(),
                &who,
                id.as_deref(),
                now_ms(),
                salt,
                new_user_id,
            )
            .map(user)
            .map_err(to_wit)
    }

    fn authenticate(
        channel: String,
        client_id: String,
        password: String,
        remote: String,
    ) -> Result<wit::User, wit::Failure> {
        let (store, throttles) = (open()?, open_throttles()?);
        let who = crate::accounts::Credentials {
            channel: &channel,
            client_id: &client_id,
            password: &password,
            remote: &remote,
        };
        Accounts::new(&store, &NatsPublisher)
            .with_throttles_in(&throttles)
            .authenticate(&PasswordPolicy::default(), &who, now_ms())
            .map(user)
            .map_err(to_wit)
    }

    fn issue_token(user: String) -> Result<String, wit::Failure> {
        let store = open()?;
        let ttl_secs = crate::accounts::token_ttl_secs(config("token_ttl_secs")?.as_deref())
            .map_err(to_wit)?;
        let token = crate::accounts::new_token().map_err(to_wit)?;
        Accounts::new(&store, &NatsPublisher)
            .issue_token(&user, &token, now_ms(), ttl_secs)
            .map_err(to_wit)
    }

    fn token_user(token: String) -> Result<Option<String>, wit::Failure> {
        let store = open()?;
        Accounts::new(&store, &NatsPublisher)
            .token_user(&token, now_ms())
            .map_err(to_wit)
    }

    fn revoke_token(token: String) -> Result<bool, wit::Failure> {
        let store = open()?;
        Accounts::new(&store, &NatsPublisher)
            .revoke_token(&token, now_ms())
            .map_err(to_wit)
    }

    fn change_password(
        channel: String,
        client_id: String,
        old_password: String,
        new_password: String,
        remote: String,
    ) -> Result<(), wit::Failure> {
        let (store, throttles) = (open()?, open_throttles()?);
        let salt = crate::accounts::new_salt().map_err(to_wit)?;
        let who = crate::accounts::Credentials {
            channel: &channel,
            client_id: &client_id,
            password: &old_password,
            remote: &remote,
        };
        Accounts::new(&store, &NatsPublisher)
            .with_throttles_in(&throttles)
            .change_password(
                &PasswordPolicy::default(),
                &who,
                &new_password,
                now_ms(),
                salt,
            )
            .map_err(to_wit)
    }

    fn ban(user: String, target: String) -> Result<bool, wit::Failure> {
        let store = open()?;
        Accounts::new(&store, &NatsPublisher)
            .ban(&user, &target)
            .map_err(to_wit)
    }

    fn unban(user: String, target: String) -> Result<bool, wit::Failure> {
        let store = open()?;
        Accounts::new(&store, &NatsPublisher)
            .unban(&user, &target)
            .map_err(to_wit)
    }
}

impl wit_access::Guest for Component {
    fn list_groups() -> Result<Vec<wit::Group>, wit::Failure> {
        let store = open()?;
        let groups = Access::new(&store, &NatsPublisher)
            .list_groups()
            .map_err(to_wit)?;
        Ok(groups.into_iter().map(group).collect())
    }

    fn create_group(actor: wit::Principal, name: String) -> Result<bool, wit::Failure> {
        let (store, actor) = (open()?, principal(actor));
        Administration::new(&store, &NatsPublisher, &actor)
            .create_group(&name, now_ms())
            .map_err(to_wit)
    }

    fn update_group(
        actor: wit::Principal,
        name: String,
        changes: Vec<wit::GroupChange>,
    ) -> Result<wit::Group, wit::Failure> {
        let (store, actor) = (open()?, principal(actor));
        let changes: Vec<GroupChange> = changes
            .into_iter()
            .map(|c| GroupChange {
                add: c.add,
                remove: c.remove,
            })
            .collect();
        Administration::new(&store, &NatsPublisher, &actor)
            .update_group(&name, &changes, now_ms())
            .map(group)
            .map_err(to_wit)
    }

    fn remove_group(actor: wit::Principal, name: String) -> Result<bool, wit::Failure> {
        let (store, actor) = (open()?, principal(actor));
        Administration::new(&store, &NatsPublisher, &actor)
            .remove_group(&name, now_ms())
            .map_err(to_wit)
    }

    fn user_group(user: String) -> Result<Option<String>, wit::Failure> {
        let store = open()?;
        Access::new(&store, &NatsPublisher)
            .user_group(&user)
            .map_err(to_wit)
    }

    fn set_user_group(
        actor: wit::Principal,
        user: String,
        group: String,
    ) -> Result<(), wit::Failure> {
        let (store, actor) = (open()?, principal(actor));
        Administration::new(&store, &NatsPublisher, &actor)
            .set_user_group(&user, &group)
            .map_err(to_wit)
    }

    fn permissions(user: String) -> Result<Vec<String>, wit::Failure> {
        let store = open()?;
        Access::new(&store, &NatsPublisher)
            .permissions(&user)
            .map_err(to_wit)
    }

    fn create_invite(actor: wit::Principal, group: String) -> Result<String, wit::Failure> {
        let (store, actor) = (open()?, principal(actor));
        let code = uuid::Uuid::new_v4().to_string();
        Administration::new(&store, &NatsPublisher, &actor)
            .create_invite(&group, &code, now_ms())
            .map_err(to_wit)
    }

    fn redeem_invite(code: String) -> Result<Option<String>, wit::Failure> {
        let store = open()?;
        Access::new(&store, &NatsPublisher)
            .redeem_invite(&code)
            .map_err(to_wit)
    }

    fn claim_founder(actor: wit::Principal, user: String) -> Result<bool, wit::Failure> {
        let (store, actor) = (open()?, principal(actor));
        Administration::new(&store, &NatsPublisher, &actor)
            .claim_founder(&user, now_ms())
            .map_err(to_wit)
    }

    fn make_admin(actor: wit::Principal, user: String) -> Result<(), wit::Failure> {
        let (store, actor) = (open()?, principal(actor));
        Administration::new(&store, &NatsPublisher, &actor)
            .make_admin(&user, now_ms())
            .map_err(to_wit)
    }
}
