//! Accounts: logging in, signing up (with an invite, as the bootstrap admin or the founder),
//! what a connection gets once logged in, and accounts made for someone else (`createuser`).

use channel_kit::{Action, Backend, Principal};
use wcc_interface::{access, FailureCode};

use super::admin::{check_group, check_name};
use super::{close_reason, denied_as, require, say, Refusal, Turn};
use crate::codec::{self, Packet};
use crate::directory::{self, Connected, Rooms};
use crate::handler::{MIN_PASSWORD_CHARS, NO_INVITE};
use crate::CHANNEL;

/// Before login only `login` and `signup` are read.
pub(super) fn before_login(
    turn: &mut Turn,
    packet: Packet,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    match packet {
        Packet::Login { email, password } => login(turn, &email, &password, backend),
        Packet::Signup {
            user_name,
            password,
            code,
            email,
        } => signup(turn, &user_name, &password, &code, &email, backend),
        _ => Err("Log in first".into()),
    }
}

fn login(
    turn: &mut Turn,
    email: &str,
    password: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let email = normalize_email(email)?;
    let user = match backend.authenticate(CHANNEL, &email, password, &turn.session.remote) {
        Ok(user) => user,
        // Upstream ends the connection on a refused login (3001, after the error saying why).
        Err(f) if matches!(f.code, FailureCode::BadCredentials | FailureCode::Throttled) => {
            let refusal = say(f);
            turn.send(codec::error(&refusal));
            let close = Action::Close(codec::MALFORMED_CLOSE, close_reason(&refusal));
            turn.actions.push(close);
            return Ok(());
        }
        Err(f) => return Err(say(f)),
    };
    if is_admin_email(backend, &email) {
        // The server's own configuration appoints it (`admin_email`).
        backend
            .make_admin(&Principal::Server, &user.id)
            .map_err(say)?;
    }
    logged_in(turn, &user.id, backend)
}

/// What a new account is given.
enum Grant {
    Admin,
    Founder,
    Group(String),
    Nothing,
}

fn signup(
    turn: &mut Turn,
    name: &str,
    password: &str,
    code: &str,
    email: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    let email = normalize_email(email)?;
    let name = check_name("user name", name)?;
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "The password must be at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if backend.find_login(CHANNEL, &email).map_err(say)?.is_some() {
        return Err("That email is already registered".into());
    }
    let grant = if is_admin_email(backend, &email) {
        Grant::Admin
    } else if code == NO_INVITE {
        let has_admin = backend
            .list_groups()
            .map_err(say)?
            .iter()
            .any(|g| g.name == access::ADMIN_GROUP);
        if !has_admin {
            Grant::Founder
        } else if setting_is_true(backend, crate::OPEN_SIGNUP_KEY) {
            Grant::Nothing
        } else {
            return Err("Signing up needs an invite code".into());
        }
    } else {
        match backend.redeem_invite(code).map_err(say)? {
            Some(group) => Grant::Group(group),
            None => return Err("That invite code is unknown or already used".into()),
        }
    };
    let user = register(turn, &email, password, backend)?;
    let actor = Principal::user(&user.id);
    directory::set_name(backend, &actor, &user, name).map_err(say)?;
    // What the account is given comes from the server: its configuration (admin email), the
    // core's founder count, or an invite the core just redeemed.
    let server = Principal::Server;
    match grant {
        Grant::Admin => backend.make_admin(&server, &user.id).map_err(say)?,
        // Two first sign-ups at once: only one becomes the founder, the other is a plain user.
        Grant::Founder => backend
            .claim_founder(&server, &user.id)
            .map(drop)
            .map_err(say)?,
        Grant::Group(group) => backend
            .set_user_group(&server, &user.id, &group)
            .map_err(say)?,
        Grant::Nothing => {}
    }
    logged_in(turn, &user.id, backend)
}

/// The session is `user` from now on: confirm, send the lists, follow the feeds.
///
/// The gateway publishes the sign-in once this answer is in, and presence then announces it to
/// everyone if it is the user's first session; the lists sent here already show the user
/// connected.
fn logged_in(turn: &mut Turn, user: &str, backend: &impl Backend) -> Result<(), Refusal> {
    let perms = backend.permissions(user).map_err(say)?;
    let groups = directory::groups_packet(backend).map_err(say)?;
    let rooms = Rooms::load(backend).map_err(say)?;
    let connected = Connected::load(backend, Some(user)).map_err(say)?;
    let users = directory::users_packet_with(backend, &rooms, &connected).map_err(say)?;
    turn.session.user = Some(user.to_owned());
    turn.send(codec::login(user));
    turn.send(codec::perms(&perms));
    turn.send(groups);
    turn.send(rooms.packet(&connected));
    turn.send(users);
    let text: Vec<String> = rooms
        .rooms
        .iter()
        .filter(|r| r.kind == "text")
        .map(|r| r.id.clone())
        .collect();
    turn.hear_everything(backend, user, &text)
}

/// `createuser`: an account for someone else, in `group`, with a password shown once.
pub(super) fn create_user(
    turn: &mut Turn,
    me: &str,
    name: &str,
    group: &str,
    email: &str,
    backend: &impl Backend,
) -> Result<(), Refusal> {
    require(backend, me, "createUser")?;
    let name = check_name("user name", name)?;
    let group = check_group(group)?;
    let email = normalize_email(email)?;
    // 122 random bits; the user is asked to keep it safe, the server never shows it again.
    let password = uuid::Uuid::new_v4().simple().to_string();
    let user = register(turn, &email, &password, backend)?;
    // The new account names itself; the creator places it (the core allows `createUser` to
    // place a user who has no group yet).
    directory::set_name(backend, &Principal::user(&user.id), &user, name).map_err(say)?;
    backend
        .set_user_group(&Principal::user(me), &user.id, group)
        .map_err(denied_as("setUserGroup"))?;
    turn.send(codec::admin_message(&format!(
        "Created {name} <{email}> in group {group}; password: {password}"
    )));
    Ok(())
}

/// A new account named by a UUID, in Rebuttal's usual hyphenated form.
fn register(
    turn: &Turn,
    email: &str,
    password: &str,
    backend: &impl Backend,
) -> Result<channel_kit::User, Refusal> {
    let id = uuid::Uuid::new_v4().to_string();
    backend
        .register(CHANNEL, email, password, Some(&id), &turn.session.remote)
        .map_err(|f| match f.code {
            FailureCode::Exists => "That email is already registered".into(),
            _ => say(f),
        })
}

/// Emails are logins: compared without case or surrounding space.
fn normalize_email(email: &str) -> Result<String, Refusal> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err("That is not an email address".into())
    }
}

fn is_admin_email(backend: &impl Backend, email: &str) -> bool {
    backend
        .setting(crate::ADMIN_EMAIL_KEY)
        .map(|admin| admin.trim().to_lowercase())
        .is_some_and(|admin| !admin.is_empty() && admin == email)
}

fn setting_is_true(backend: &impl Backend, key: &str) -> bool {
    backend.setting(key).is_some_and(|v| v.trim() == "true")
}
