//! A console's frames: sign in once with the admin token, then watch and unwatch rooms.
//!
//! A console that has not signed in gets nothing but the answer to its token, and a wrong or
//! missing token closes the socket (1008): the token is 32 random bytes, so a second guess on
//! the same socket would be no more likely to succeed, and each new socket counts against the
//! gateway's per-address connection cap.

use channel_kit::{Action, Backend, Frame, Outcome, Principal, Session};
use wcc_interface::{ids, FailureCode};
use wcc_policy::admin_token;

use crate::codec::{self, Command, Refusal};
use crate::session::{Watching, MAX_WATCHED_ROOMS};

/// Websocket close code for a refused sign-in: policy violation.
pub const CLOSE_REFUSED: u16 = 1008;

pub fn received(session: Session, frame: Frame, backend: &impl Backend) -> Outcome {
    let signed_in = session.user.as_deref() == Some(ids::OPERATOR);
    match (codec::decode(&frame), signed_in) {
        (Ok(Command::Auth { token }), false) => sign_in(session, &token, backend),
        (_, false) => refuse_sign_in(
            session,
            Refusal::new("unauthorized", "sign in first: {type: auth, token}"),
        ),
        (Ok(Command::Auth { .. }), true) => answer_error(
            session,
            Refusal::new("invalid", "this connection is signed in already"),
        ),
        (Ok(Command::Watch { room }), true) => watch(session, &room, backend),
        (Ok(Command::Unwatch { room }), true) => unwatch(session, &room),
        (Err(refusal), true) => answer_error(session, refusal),
    }
}

fn sign_in(mut session: Session, token: &str, backend: &impl Backend) -> Outcome {
    let configured = backend.setting(admin_token::CONFIG_KEY);
    if let Err(refusal) = admin_token::check(configured.as_deref(), token.as_bytes()) {
        return refuse_sign_in(session, Refusal::new("unauthorized", refusal.to_string()));
    }
    // The lattice feed first, so the console hears every event after its `ready`.
    let grant = match backend.grant_subscription(&Principal::Operator, ids::OPERATOR) {
        Ok(grant) => grant,
        Err(failure) => {
            return answer_error(session, Refusal::new("unavailable", failure.message));
        }
    };
    session.user = Some(ids::OPERATOR.to_owned());
    session.data = Watching::default().to_data();
    Outcome {
        session,
        actions: vec![Action::Subscribe(grant), Action::Send(codec::ready())],
    }
}

fn watch(mut session: Session, room: &str, backend: &impl Backend) -> Outcome {
    if !ids::is_valid_id(room) || room == ids::OPERATOR {
        return answer_error(
            session,
            Refusal::new("invalid", format!("{room:?} is no room id")),
        );
    }
    let mut watching = Watching::parse(&session.data);
    if watching.rooms.iter().any(|r| r == room) {
        return answer(session, codec::watching(room));
    }
    if watching.rooms.len() >= MAX_WATCHED_ROOMS {
        return answer_error(
            session,
            Refusal::new(
                "limit",
                format!("at most {MAX_WATCHED_ROOMS} rooms at once; unwatch one first"),
            ),
        );
    }
    let grant = match backend.grant_subscription(&Principal::Operator, room) {
        Ok(grant) => grant,
        Err(failure) if failure.code == FailureCode::UnknownRoom => {
            return answer_error(session, Refusal::new("unknown_room", failure.message));
        }
        Err(failure) => {
            return answer_error(session, Refusal::new("unavailable", failure.message));
        }
    };
    watching.rooms.push(room.to_owned());
    session.data = watching.to_data();
    Outcome {
        session,
        actions: vec![
            Action::Subscribe(grant),
            Action::Send(codec::watching(room)),
        ],
    }
}

fn unwatch(mut session: Session, room: &str) -> Outcome {
    let mut watching = Watching::parse(&session.data);
    let before = watching.rooms.len();
    watching.rooms.retain(|r| r != room);
    let mut actions = Vec::new();
    if watching.rooms.len() != before {
        actions.push(Action::Unsubscribe(room.to_owned()));
    }
    session.data = watching.to_data();
    actions.push(Action::Send(codec::unwatched(room)));
    Outcome { session, actions }
}

fn answer(session: Session, frame: String) -> Outcome {
    Outcome {
        session,
        actions: vec![Action::Send(frame)],
    }
}

fn answer_error(session: Session, refusal: Refusal) -> Outcome {
    answer(session, codec::error(&refusal))
}

fn refuse_sign_in(session: Session, refusal: Refusal) -> Outcome {
    Outcome {
        session,
        actions: vec![
            Action::Send(codec::error(&refusal)),
            Action::Close(CLOSE_REFUSED, refusal.message),
        ],
    }
}
