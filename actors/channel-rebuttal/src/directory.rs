//! The lists every Rebuttal client keeps (rooms, users, groups) and the objects in them, built
//! from the core. Clients replace a whole list when it arrives (upstream's clients have no packet
//! that changes one entry), so each is always sent whole. Guests (connections of other protocols
//! that never signed in) are on no list: the core lists no guest, and voice rooms hide them.
//!
//! Live voice state that others must see on arrival (live streaming, server mute) is kept in the
//! user's profile under `rebuttal`; the voice room a user is in is its membership of a voice room.
//! Who is connected (`status`) is presence's, asked each time a list is built: presence tracks
//! every protocol's sessions, and ends those of a gateway that died, and it announces a user's
//! first session and last one as a change of the user list.

use std::collections::{BTreeMap, BTreeSet};

use channel_kit::{Backend, Principal, Room, User};
use serde_json::{json, Value};
use wcc_interface::{ids, Failure};

use crate::codec;

/// The room kinds Rebuttal shows; direct rooms of other protocols stay out of its lists.
pub const KINDS: [&str; 2] = ["text", "voice"];

/// The profile key holding a user's Rebuttal voice state.
pub const PROFILE_KEY: &str = "rebuttal";

/// The rooms Rebuttal shows, with who is in each voice room.
pub struct Rooms {
    pub rooms: Vec<Room>,
    /// Voice room id -> its members.
    pub occupants: BTreeMap<String, Vec<String>>,
    /// The users in any voice room, by id: a room's `userlist` shows them whole.
    occupant_users: BTreeMap<String, User>,
}

impl Rooms {
    pub fn load(backend: &impl Backend) -> Result<Self, Failure> {
        let rooms: Vec<Room> = backend
            .all_rooms()?
            .into_iter()
            .filter(|r| KINDS.contains(&r.kind.as_str()))
            .collect();
        let mut occupants = BTreeMap::new();
        for room in rooms.iter().filter(|r| r.kind == "voice") {
            // Who is in a voice room is public in Rebuttal: every client shows it.
            let mut members = backend.query_members(&Principal::Server, &room.id)?;
            members.retain(|member| !ids::is_guest(member));
            occupants.insert(room.id.clone(), members);
        }
        let mut everyone_in_voice: Vec<String> = occupants.values().flatten().cloned().collect();
        everyone_in_voice.sort();
        everyone_in_voice.dedup();
        let occupant_users = if everyone_in_voice.is_empty() {
            BTreeMap::new()
        } else {
            backend
                .get_users(&everyone_in_voice)?
                .into_iter()
                .map(|user| (user.id.clone(), user))
                .collect()
        };
        Ok(Self {
            rooms,
            occupants,
            occupant_users,
        })
    }

    /// The voice room `user` is in, if any.
    pub fn voice_room_of(&self, user: &str) -> Option<&str> {
        self.occupants
            .iter()
            .find(|(_, members)| members.iter().any(|m| m == user))
            .map(|(room, _)| room.as_str())
    }

    /// Whether anyone is in a voice room (whose user objects say whether they are connected).
    pub fn has_occupants(&self) -> bool {
        self.occupants.values().any(|members| !members.is_empty())
    }

    /// `updateRooms`. A voice room's `userlist` holds user objects, as in the user list: the
    /// client draws each one's video tile from them (`id`, `name`, `avatar`, `livelabel`).
    pub fn packet(&self, connected: &Connected) -> String {
        let list: Vec<Value> = self
            .rooms
            .iter()
            .map(|room| {
                let userlist: Vec<Value> = self
                    .occupants
                    .get(&room.id)
                    .into_iter()
                    .flatten()
                    // A member whose record is gone (deleted meanwhile) is shown by no one.
                    .filter_map(|id| self.occupant_users.get(id))
                    .map(|user| user_object(user, self, connected))
                    .collect();
                json!({ "id": room.id, "type": room.kind, "name": room.name, "userlist": userlist })
            })
            .collect();
        codec::packet("updateRooms", json!({ "roomList": list }))
    }
}

/// Who is connected right now, on any protocol, as upstream's `status` shows it.
pub struct Connected(BTreeSet<String>);

impl Connected {
    /// Asks presence. `signing_in`: the user a connection is signing in as in this very call,
    /// connected although presence hears of it only once the call has answered.
    pub fn load(backend: &impl Backend, signing_in: Option<&str>) -> Result<Self, Failure> {
        let mut users: BTreeSet<String> = backend
            .online_users()?
            .into_iter()
            .map(|online| online.user)
            .collect();
        users.extend(signing_in.map(str::to_owned));
        Ok(Self(users))
    }

    /// Nobody: for lists that show no user object.
    pub fn nobody() -> Self {
        Self(BTreeSet::new())
    }

    pub fn contains(&self, user: &str) -> bool {
        self.0.contains(user)
    }
}

/// The name a user goes by: the profile's `display_name` (what venueless sets too), else
/// `name`, else the id.
pub fn name_of(user: &User) -> String {
    let profile = profile_of(user);
    ["display_name", "name"]
        .iter()
        .find_map(|key| profile.get(*key).and_then(Value::as_str))
        .map(str::to_owned)
        .unwrap_or_else(|| user.id.clone())
}

/// The profile as a JSON object (empty if unset or unreadable).
pub fn profile_of(user: &User) -> serde_json::Map<String, Value> {
    user.profile
        .as_deref()
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default()
}

/// The user object of Rebuttal's lists.
pub fn user_object(user: &User, rooms: &Rooms, connected: &Connected) -> Value {
    let profile = profile_of(user);
    let voice = profile.get(PROFILE_KEY).cloned().unwrap_or(Value::Null);
    let avatar = match profile.get("avatar") {
        Some(Value::String(url)) => Value::String(url.clone()),
        Some(Value::Object(o)) => o.get("url").cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    };
    json!({
        "id": user.id,
        "name": name_of(user),
        "currentRoom": rooms.voice_room_of(&user.id),
        "livestate": voice.get("livestate").and_then(Value::as_bool).unwrap_or(false),
        "livelabel": voice.get("livelabel").and_then(Value::as_str).unwrap_or(""),
        "talking": false,
        "suppress": voice.get("suppress").and_then(Value::as_bool).unwrap_or(false),
        // Upstream's `status`: connected right now.
        "status": connected.contains(&user.id),
        "avatar": avatar,
        "hidden": false,
    })
}

pub fn users_packet(backend: &impl Backend) -> Result<String, Failure> {
    let connected = Connected::load(backend, None)?;
    users_packet_with(backend, &Rooms::load(backend)?, &connected)
}

/// `updateUsers`, with the voice rooms and who is connected already loaded.
pub fn users_packet_with(
    backend: &impl Backend,
    rooms: &Rooms,
    connected: &Connected,
) -> Result<String, Failure> {
    let users: Vec<Value> = backend
        .list_users()?
        .iter()
        .map(|u| user_object(u, rooms, connected))
        .collect();
    Ok(codec::packet("updateUsers", json!({ "userList": users })))
}

/// `updateRooms`. Presence is asked only if someone is in a voice room to show.
pub fn rooms_packet(backend: &impl Backend) -> Result<String, Failure> {
    let rooms = Rooms::load(backend)?;
    let connected = if rooms.has_occupants() {
        Connected::load(backend, None)?
    } else {
        Connected::nobody()
    };
    Ok(rooms.packet(&connected))
}

/// `{group name: [permissions]}`.
pub fn groups_packet(backend: &impl Backend) -> Result<String, Failure> {
    let groups: serde_json::Map<String, Value> = backend
        .list_groups()?
        .into_iter()
        .map(|g| (g.name, json!(g.permissions)))
        .collect();
    Ok(codec::packet("updateGroups", json!({ "groups": groups })))
}

/// Changes one field of the user's Rebuttal voice state in its profile.
pub fn set_voice_state(
    backend: &impl Backend,
    actor: &Principal,
    user: &str,
    change: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> Result<(), Failure> {
    let Some(found) = backend.get_user(user)? else {
        return Err(Failure::new(
            wcc_interface::FailureCode::UnknownUser,
            "no such user",
        ));
    };
    let mut profile = profile_of(&found);
    let mut voice = match profile.remove(PROFILE_KEY) {
        Some(Value::Object(map)) => map,
        _ => Default::default(),
    };
    change(&mut voice);
    profile.insert(PROFILE_KEY.into(), Value::Object(voice));
    backend
        .set_profile(actor, user, &Value::Object(profile).to_string())
        .map(drop)
}

/// Sets the user's display name as `actor`, keeping the rest of the profile.
pub fn set_name(
    backend: &impl Backend,
    actor: &Principal,
    user: &User,
    name: &str,
) -> Result<(), Failure> {
    let mut profile = profile_of(user);
    profile.insert("display_name".into(), Value::String(name.into()));
    backend
        .set_profile(actor, &user.id, &Value::Object(profile).to_string())
        .map(drop)
}
