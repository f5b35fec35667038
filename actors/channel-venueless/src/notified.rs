//! Notes for a signed-in connection from elsewhere on the lattice, as venueless pushes.
//!
//! - `Note::ReadPointer` (the user read a room, in this session or another): upstream's
//!   `chat.read_pointers` with that room, then `chat.notification_counts` (the webapp replaces
//!   its counts with it, so it is complete);
//! - a `profile.changed` signal from the user to itself ([`crate::auth::PROFILE_CHANGED`]):
//!   `user.updated` with the profile, on every session but the one that changed it;
//! - `Note::Joined`/`Note::Left` (the operator changed the user's rooms): `chat.channels` again.
//!
//! Other notes show nothing in venueless. A lookup that fails leaves out what it would have
//! pushed: these are live hints, and the next sign-in shows the stored state.

use serde_json::{json, Value};
use wcc_interface::Note;

use crate::auth::PROFILE_CHANGED;
use crate::backend::Backend;
use crate::codec;
use crate::session::{Action, Outcome, Session, Stored};
use crate::views::{has_profile, user_view};
use crate::world;

pub fn notified(session: Session, note: &str, backend: &impl Backend) -> Outcome {
    let (Some(me), Some(note)) = (session.user.clone(), Note::parse(note)) else {
        return Outcome::nothing(session);
    };
    let mut stored = Stored::parse(&session.data);
    let mut actions = Vec::new();
    let mut send =
        |name: &str, payload: Value| actions.push(Action::Send(codec::push(name, payload)));
    match note {
        Note::ReadPointer { room, event_id } => {
            send("chat.read_pointers", json!({ room: event_id }));
            if let Ok(counts) = world::current_notification_counts(backend, &me) {
                send("chat.notification_counts", counts);
            }
        }
        Note::Signal {
            sender,
            kind,
            content,
            ..
        } if kind == PROFILE_CHANGED && sender == me => {
            let from_here = content["connection"].as_str() == Some(session.connection_id.as_str());
            if let (false, Ok(Some(user))) = (from_here, backend.get_user(&me)) {
                stored.data.profile = has_profile(&user);
                send("user.updated", user_view(&user));
            }
        }
        Note::Joined { room } | Note::Left { room } => {
            // Membership is stored; what this connection remembers of it follows.
            if let Ok(rooms) = backend.query_rooms(&me) {
                if rooms.iter().any(|r| r.id == room) {
                    stored.data.add_joined(&room);
                } else {
                    stored.data.remove_joined(&room);
                }
                let joined = world::shown_of(rooms);
                if let Ok(channels) = world::channels_of(backend, &me, &joined) {
                    send("chat.channels", json!({ "channels": channels }));
                }
            }
        }
        Note::Signal { .. }
        | Note::PermissionsChanged
        | Note::AccountRemoved
        | Note::Message { .. }
        // channel-kit closes the connection before a disconnect gets here.
        | Note::Disconnect { .. } => {}
    }
    let session = Session {
        data: stored.to_json(),
        ..session
    };
    Outcome { session, actions }
}
