//! `authenticate` and the `user.*` actions: who the connection is, and users' profiles.
//!
//! `authenticated` carries everything the webapp's store reads when it arrives (see
//! [`crate::world`]); a missing key there stops the webapp before it shows a thing.

use serde_json::{json, Map, Value};
use wcc_interface::Failure;

use crate::backend::{Backend, Principal, Room, User, UserSignal};
use crate::codec::Wanted;
use crate::codes;
use crate::handler::{auth, refuse, user_failure, Conn, Handled};
use crate::session::{Action, SessionData};
use crate::views::{has_profile, user_view, users_map};
use crate::world::{self, MAX_WORLD_ROOMS};
use crate::{codec, CHANNEL};

/// Most joined rooms a connection hears from sign-in on, so that the webapp's sidebar marks
/// those with new messages (`chat.unread_pointers`); a user in more rooms hears the rest once it
/// opens them.
pub const MAX_FOLLOWED_ROOMS: usize = 100;

/// The kind of the signal a session sends its user's other sessions after changing the profile
/// (`content.connection`: the connection it came from, which already knows).
pub const PROFILE_CHANGED: &str = "profile.changed";

impl<B: Backend> Conn<'_, B> {
    pub(crate) fn authenticate(
        &mut self,
        has_id: bool,
        client_id: Option<&str>,
        token: Option<&str>,
    ) -> Handled {
        if token.is_some_and(|t| !t.is_empty()) {
            return refuse(
                codes::AUTH_INVALID_TOKEN,
                "token (JWT) authentication is not supported yet; use client_id",
            );
        }
        let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
            return refuse(codes::AUTH_MISSING_ID_OR_TOKEN, "client_id is required");
        };
        let user = self.backend.login(CHANNEL, client_id).map_err(auth)?;
        // Membership outlives connections: a returning user is still in its rooms and may send
        // to them without joining again.
        let rooms = self.backend.query_rooms(&user.id).map_err(auth)?;
        let joined = world::shown_of(rooms.clone());
        let payload = self.signed_in(&user, &joined).map_err(auth)?;
        // Direct messages to this user arrive in its direct room (named by its id), from any
        // protocol: every session of the user receives them without asking. Its grant and the
        // joined rooms' are asked for in one call.
        let mut heard = vec![user.id.clone()];
        heard.extend(joined.iter().take(MAX_FOLLOWED_ROOMS).map(|r| r.id.clone()));
        let mut grants = self
            .backend
            .grant_subscriptions(&Principal::user(&user.id), &heard)
            .map_err(auth)?
            .into_iter();
        let inbox = grants.next().expect("one grant per room").map_err(auth)?;
        self.data = SessionData {
            profile: has_profile(&user),
            joined: rooms.iter().map(|r| r.id.clone()).collect(),
            subscribed: Vec::new(),
        };
        self.data.add_subscribed(&user.id);
        self.actions.push(Action::Subscribe(inbox));
        for (room, grant) in heard[1..].iter().zip(grants) {
            // A room whose grant fails is heard once the client opens it, as any other.
            if let Ok(grant) = grant {
                self.data.add_subscribed(room);
                self.actions.push(Action::Subscribe(grant));
            }
        }
        self.user = Some(user.id.clone());
        self.actions
            .push(Action::Send(codec::push("authenticated", payload)));
        Ok(has_id.then(|| json!({})))
    }

    /// The payload of `authenticated` for `user`, a member of the shown rooms `joined`.
    fn signed_in(&self, user: &User, joined: &[Room]) -> Result<Value, Failure> {
        let all = self.backend.all_rooms()?;
        // Joined rooms always count; of the others the first few hundred are listed.
        let mut asked: Vec<String> = joined.iter().map(|r| r.id.clone()).collect();
        asked.extend(
            all.iter()
                .filter(|r| world::is_shown(r))
                .take(MAX_WORLD_ROOMS)
                .map(|r| r.id.clone()),
        );
        asked.sort();
        asked.dedup();
        let standing = world::standing(self.backend, &user.id, &asked)?;
        let moderator = world::is_moderator(self.backend, &user.id);
        Ok(json!({
            "user.config": user_view(user),
            // wcc's own clients read `user`; the webapp reads `user.config`.
            "user": user_view(user),
            "world.config": world::world_config(self.backend, &all, &standing, moderator),
            "chat.channels": world::channel_list(joined, &standing),
            "chat.read_pointers": world::read_pointers(&standing),
            "chat.notification_counts": world::notification_counts(joined, &standing),
            // Modules wcc has none of; the webapp's store reads both unconditionally.
            "exhibition": { "exhibitors": [], "contact_requests": [] },
            "announcements": [],
        }))
    }

    /// `user.update`: sets the profile, then tells the user's other sessions (any protocol; the
    /// venueless ones answer with `user.updated`), as upstream does.
    pub(crate) fn update_profile(&mut self, user: &str, profile: Map<String, Value>) -> Handled {
        let updated = self
            .backend
            .set_profile(
                &Principal::user(user),
                user,
                &Value::Object(profile).to_string(),
            )
            .map_err(user_failure)?;
        self.data.profile = has_profile(&updated);
        // Live only: a session that misses it shows the old profile until it signs in again,
        // so a failed publish does not fail the update, which is stored.
        let _ = self.backend.signal_user(UserSignal {
            sender: user.to_owned(),
            user: user.to_owned(),
            channel: CHANNEL.to_owned(),
            kind: PROFILE_CHANGED.to_owned(),
            content: json!({ "connection": self.connection }).to_string(),
        });
        Ok(Some(json!({})))
    }

    /// `user.fetch`: one profile by `id`, or a map of profiles by `ids` (the webapp asks so for
    /// senders it has not seen; a gone sender comes back by id alone, `deleted`).
    pub(crate) fn fetch_users(&mut self, wanted: Wanted) -> Handled {
        match wanted {
            Wanted::One(id) => match self.backend.get_user(&id).map_err(user_failure)? {
                Some(found) => Ok(Some(user_view(&found))),
                None => refuse(codes::USER_NOT_FOUND, format!("no user {id}")),
            },
            Wanted::Many(ids) => {
                let users = users_map(self.backend, &ids).map_err(user_failure)?;
                Ok(Some(Value::Object(users)))
            }
        }
    }
}
