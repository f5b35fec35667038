//! [`Backend`] for [`CoreBackend`]: each call checks for an injected failure, then is the core's
//! own function or method, with the adapter's store, recorder, clock and randomness.

use rooms::accounts::{self, Credentials};
use wcc_interface::{Failure, StoredMessage};

use super::{CoreBackend, GRANT_KEY};
use crate::backend::{
    Backend, Group, GroupChange, JoinRule, Member, NewMessage, OnlineUser, Principal, Reactions,
    ReadState, Room, Signal, User, UserSession, UserSignal,
};

fn room(room: rooms::Room) -> Room {
    Room {
        id: room.id,
        name: room.name,
        kind: room.kind,
    }
}

fn user(user: rooms::User) -> User {
    User {
        id: user.id,
        profile: user.profile.map(|p| p.to_string()),
    }
}

fn new_message_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Backend for CoreBackend {
    fn process_message(&self, msg: NewMessage) -> Result<StoredMessage, Failure> {
        self.check("process_message")?;
        let (store, limits) = (&self.store, self.limits());
        messages::process_message(
            store,
            &self.recorder,
            limits,
            msg,
            self.now(),
            new_message_id,
        )
    }

    fn process_messages(&self, msgs: Vec<NewMessage>) -> Vec<Result<StoredMessage, Failure>> {
        if let Err(failure) = self.check("process_messages") {
            return msgs.iter().map(|_| Err(failure.clone())).collect();
        }
        let (store, limits) = (&self.store, self.limits());
        messages::process_messages(
            store,
            &self.recorder,
            limits,
            msgs,
            self.now(),
            new_message_id,
        )
    }

    fn history(
        &self,
        actor: &Principal,
        room: &str,
        before: Option<u64>,
        count: u32,
    ) -> Result<Vec<StoredMessage>, Failure> {
        self.check("history")?;
        messages::history(&self.store, actor, room, before, count)
    }

    fn next_event_id(&self, actor: &Principal, room: &str) -> Result<u64, Failure> {
        self.check("next_event_id")?;
        messages::next_event_id(&self.store, actor, room)
    }

    fn get_message(&self, actor: &Principal, id: &str) -> Result<Option<StoredMessage>, Failure> {
        self.check("get_message")?;
        messages::get_message(&self.store, actor, id)
    }

    fn signal(&self, note: Signal) -> Result<(), Failure> {
        self.check("signal")?;
        messages::signal(&self.store, &self.recorder, self.limits(), note, self.now())
    }

    fn edit_message(
        &self,
        actor: &Principal,
        room: &str,
        event_id: u64,
        content: &str,
    ) -> Result<StoredMessage, Failure> {
        self.check("edit_message")?;
        let (store, limits, now) = (&self.store, self.limits(), self.now());
        messages::edit_message(
            store,
            &self.recorder,
            limits,
            actor,
            room,
            event_id,
            content,
            now,
        )
    }

    fn remove_message(
        &self,
        actor: &Principal,
        room: &str,
        event_id: u64,
    ) -> Result<StoredMessage, Failure> {
        self.check("remove_message")?;
        let now = self.now();
        messages::remove_message(&self.store, &self.recorder, actor, room, event_id, now)
    }

    fn remove_messages_by(&self, actor: &Principal, sender: &str) -> Result<u32, Failure> {
        self.check("remove_messages_by")?;
        messages::remove_messages_by(&self.store, &self.recorder, actor, sender, self.now())
    }

    fn signal_user(&self, signal: UserSignal) -> Result<(), Failure> {
        self.check("signal_user")?;
        messages::signal_user(&self.store, &self.recorder, self.limits(), signal)
    }

    fn react(
        &self,
        actor: &Principal,
        room: &str,
        event_id: u64,
        reaction: &str,
        add: bool,
    ) -> Result<Reactions, Failure> {
        self.check("react")?;
        let (store, now) = (&self.store, self.now());
        messages::react(
            store,
            &self.recorder,
            actor,
            room,
            event_id,
            reaction,
            add,
            now,
        )
    }

    fn reactions(
        &self,
        actor: &Principal,
        room: &str,
        event_ids: &[u64],
    ) -> Result<Vec<(u64, Reactions)>, Failure> {
        self.check("reactions")?;
        messages::reactions(&self.store, actor, room, event_ids)
    }

    fn mark_read(&self, actor: &Principal, room: &str, event_id: u64) -> Result<bool, Failure> {
        self.check("mark_read")?;
        let now = self.now();
        messages::mark_read(&self.store, &self.recorder, actor, room, event_id, now)
    }

    fn read_state(&self, actor: &Principal, rooms: &[String]) -> Result<Vec<ReadState>, Failure> {
        self.check("read_state")?;
        messages::read_state(&self.store, actor, rooms)
    }

    fn create_room(
        &self,
        actor: &Principal,
        id: &str,
        name: &str,
        kind: &str,
    ) -> Result<bool, Failure> {
        self.check("create_room")?;
        self.administration(actor)
            .create_room(id, name, kind, self.now())
    }

    fn get_room(&self, id: &str) -> Result<Option<Room>, Failure> {
        self.check("get_room")?;
        Ok(self.rooms().get_room(id)?.map(room))
    }

    fn query_rooms(&self, member: &str) -> Result<Vec<Room>, Failure> {
        self.check("query_rooms")?;
        let found = self.rooms().query_rooms(Some(member))?;
        Ok(found.into_iter().map(room).collect())
    }

    fn all_rooms(&self) -> Result<Vec<Room>, Failure> {
        self.check("all_rooms")?;
        Ok(self
            .rooms()
            .query_rooms(None)?
            .into_iter()
            .map(room)
            .collect())
    }

    fn rename_room(&self, actor: &Principal, id: &str, name: &str) -> Result<Room, Failure> {
        self.check("rename_room")?;
        self.administration(actor).rename_room(id, name).map(room)
    }

    fn delete_room(&self, actor: &Principal, id: &str) -> Result<(), Failure> {
        self.check("delete_room")?;
        self.administration(actor).delete_room(id, self.now())
    }

    fn query_members(&self, actor: &Principal, room: &str) -> Result<Vec<String>, Failure> {
        self.check("query_members")?;
        let members = self.rooms().query_members_as(actor, room)?;
        Ok(members.into_iter().map(|m| m.user).collect())
    }

    fn members(&self, actor: &Principal, room: &str) -> Result<Vec<Member>, Failure> {
        self.check("members")?;
        let members = self.rooms().query_members_as(actor, room)?;
        Ok(members
            .into_iter()
            .map(|m| Member {
                user: m.user,
                joined_at: m.joined_at,
            })
            .collect())
    }

    fn get_join_rule(&self, room: &str) -> Result<Option<JoinRule>, Failure> {
        self.check("get_join_rule")?;
        let rule = self.rooms().get_join_rule(room)?;
        Ok(rule.map(|rule| JoinRule {
            value: rule.value_text(),
            key: rule.key,
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
        self.check("join")?;
        self.rooms()
            .join_as(actor, room, user, channel, origin, self.now())
    }

    fn leave(
        &self,
        actor: &Principal,
        room: &str,
        user: &str,
        channel: &str,
        origin: Option<&str>,
    ) -> Result<bool, Failure> {
        self.check("leave")?;
        self.rooms()
            .leave_as(actor, room, user, channel, origin, self.now())
    }

    fn grant_subscription(&self, actor: &Principal, room: &str) -> Result<String, Failure> {
        self.check("grant_subscription")?;
        self.rooms()
            .grant_subscription(actor, room, GRANT_KEY, self.now())
    }

    fn grant_subscriptions(
        &self,
        actor: &Principal,
        rooms: &[String],
    ) -> Result<Vec<Result<String, Failure>>, Failure> {
        self.check("grant_subscriptions")?;
        self.rooms()
            .grant_subscriptions(actor, rooms, GRANT_KEY, self.now())
    }

    fn directory_version(&self, part: &str) -> Result<u64, Failure> {
        self.check("directory_version")?;
        rooms::directory_version(&self.store, part)
    }

    fn login(&self, channel: &str, client_id: &str) -> Result<User, Failure> {
        self.check("login")?;
        let new_id = || self.new_user_id(client_id);
        self.users()
            .login(channel, client_id, self.now(), new_id)
            .map(user)
    }

    fn guest(&self, connection_id: &str) -> Result<User, Failure> {
        self.check("guest")?;
        self.users().guest(connection_id, self.now()).map(user)
    }

    fn get_user(&self, id: &str) -> Result<Option<User>, Failure> {
        if self.users_seen.is_some() {
            // As the component's imports do while they remember users.
            return Ok(self.get_users(&[id.to_owned()])?.pop());
        }
        self.check("get_user")?;
        Ok(self.users().get_user(id)?.map(user))
    }

    fn get_users(&self, ids: &[String]) -> Result<Vec<User>, Failure> {
        let fetch = |ids: &[String]| -> Result<Vec<User>, Failure> {
            self.check("get_users")?;
            Ok(self.users().get_users(ids)?.into_iter().map(user).collect())
        };
        match &self.users_seen {
            Some(seen) => seen.users(ids, fetch),
            None => fetch(ids),
        }
    }

    fn set_profile(&self, actor: &Principal, id: &str, profile: &str) -> Result<User, Failure> {
        self.check("set_profile")?;
        self.administration(actor)
            .set_profile(id, profile)
            .map(user)
    }

    fn list_users(&self) -> Result<Vec<User>, Failure> {
        self.check("list_users")?;
        Ok(self.users().list_users()?.into_iter().map(user).collect())
    }

    fn delete_user(&self, actor: &Principal, id: &str) -> Result<bool, Failure> {
        self.check("delete_user")?;
        self.administration(actor).delete_user(id, self.now())
    }

    fn find_login(&self, channel: &str, client_id: &str) -> Result<Option<User>, Failure> {
        self.check("find_login")?;
        Ok(self.users().find_login(channel, client_id)?.map(user))
    }

    fn register(
        &self,
        channel: &str,
        client_id: &str,
        password: &str,
        id: Option<&str>,
        remote: &str,
    ) -> Result<User, Failure> {
        self.check("register")?;
        let who = Credentials {
            channel,
            client_id,
            password,
            remote,
        };
        let (salt, new_id) = (accounts::new_salt()?, || self.new_user_id(client_id));
        self.accounts()
            .register(&self.passwords, &who, id, self.now(), salt, new_id)
            .map(user)
    }

    fn authenticate(
        &self,
        channel: &str,
        client_id: &str,
        password: &str,
        remote: &str,
    ) -> Result<User, Failure> {
        self.check("authenticate")?;
        let who = Credentials {
            channel,
            client_id,
            password,
            remote,
        };
        self.accounts()
            .authenticate(&self.passwords, &who, self.now())
            .map(user)
    }

    fn issue_token(&self, user: &str) -> Result<String, Failure> {
        self.check("issue_token")?;
        let (token, ttl) = (accounts::new_token()?, accounts::DEFAULT_TOKEN_TTL_SECS);
        self.accounts().issue_token(user, &token, self.now(), ttl)
    }

    fn token_user(&self, token: &str) -> Result<Option<String>, Failure> {
        self.check("token_user")?;
        self.accounts().token_user(token, self.now())
    }

    fn revoke_token(&self, token: &str) -> Result<bool, Failure> {
        self.check("revoke_token")?;
        self.accounts().revoke_token(token, self.now())
    }

    fn change_password(
        &self,
        channel: &str,
        client_id: &str,
        old_password: &str,
        new_password: &str,
        remote: &str,
    ) -> Result<(), Failure> {
        self.check("change_password")?;
        let who = Credentials {
            channel,
            client_id,
            password: old_password,
            remote,
        };
        let salt = accounts::new_salt()?;
        self.accounts()
            .change_password(&self.passwords, &who, new_password, self.now(), salt)
    }

    fn ban(&self, user: &str, target: &str) -> Result<bool, Failure> {
        self.check("ban")?;
        self.accounts().ban(user, target)
    }

    fn unban(&self, user: &str, target: &str) -> Result<bool, Failure> {
        self.check("unban")?;
        self.accounts().unban(user, target)
    }

    fn list_groups(&self) -> Result<Vec<Group>, Failure> {
        self.check("list_groups")?;
        self.access().list_groups()
    }

    fn create_group(&self, actor: &Principal, name: &str) -> Result<bool, Failure> {
        self.check("create_group")?;
        self.administration(actor).create_group(name, self.now())
    }

    fn update_group(
        &self,
        actor: &Principal,
        name: &str,
        changes: &[GroupChange],
    ) -> Result<Group, Failure> {
        self.check("update_group")?;
        self.administration(actor)
            .update_group(name, changes, self.now())
    }

    fn remove_group(&self, actor: &Principal, name: &str) -> Result<bool, Failure> {
        self.check("remove_group")?;
        self.administration(actor).remove_group(name, self.now())
    }

    fn user_group(&self, user: &str) -> Result<Option<String>, Failure> {
        self.check("user_group")?;
        self.access().user_group(user)
    }

    fn set_user_group(&self, actor: &Principal, user: &str, group: &str) -> Result<(), Failure> {
        self.check("set_user_group")?;
        self.administration(actor).set_user_group(user, group)
    }

    fn permissions(&self, user: &str) -> Result<Vec<String>, Failure> {
        self.check("permissions")?;
        self.access().permissions(user)
    }

    fn create_invite(&self, actor: &Principal, group: &str) -> Result<String, Failure> {
        self.check("create_invite")?;
        let code = uuid::Uuid::new_v4().to_string();
        self.administration(actor)
            .create_invite(group, &code, self.now())
    }

    fn redeem_invite(&self, code: &str) -> Result<Option<String>, Failure> {
        self.check("redeem_invite")?;
        self.access().redeem_invite(code)
    }

    fn claim_founder(&self, actor: &Principal, user: &str) -> Result<bool, Failure> {
        self.check("claim_founder")?;
        self.administration(actor).claim_founder(user, self.now())
    }

    fn make_admin(&self, actor: &Principal, user: &str) -> Result<(), Failure> {
        self.check("make_admin")?;
        self.administration(actor).make_admin(user, self.now())
    }

    fn online_users(&self) -> Result<Vec<OnlineUser>, Failure> {
        self.check("online_users")?;
        let found = presence::online_users(&self.store, self.now())?;
        Ok(found
            .into_iter()
            .map(|u| OnlineUser {
                user: u.user,
                channels: u.channels,
            })
            .collect())
    }

    fn user_sessions(&self, user: &str) -> Result<Vec<UserSession>, Failure> {
        self.check("user_sessions")?;
        let found = presence::user_sessions(&self.store, user, self.now())?;
        Ok(found
            .into_iter()
            .map(|s| UserSession {
                connection: s.connection,
                channel: s.channel,
            })
            .collect())
    }

    fn setting(&self, key: &str) -> Option<String> {
        self.settings.borrow().get(key).cloned()
    }

    fn now_ms(&self) -> u64 {
        self.now()
    }
}
