//! The gateway's records of a connection, mirrored as plain Rust so channel cores never see
//! generated binding types.

/// The gateway's record of a connection, as a channel sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// Unique across the lattice: `<gateway instance>-<n>`.
    pub connection_id: String,
    /// `wcc_interface::transport::WEBSOCKET`, `TCP` for a line socket (one frame per line), or
    /// `HTTP` for one plain request (a route with `http: true`).
    pub transport: String,
    /// The client's address as the gateway saw it (`ip:port`).
    pub remote: String,
    /// Who the connection is logged in as; the gateway publishes UserLoggedIn/Out on change.
    pub user: Option<String>,
    /// The channel's own per-connection state (JSON it wrote); empty for a fresh connection.
    pub data: String,
}

/// An inbound websocket frame or line, as the gateway hands it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
    /// A frame over the gateway's size limit, discarded unread; this is its length.
    Oversize(u64),
}

/// What the gateway does for the channel, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write this text frame to the connection.
    Send(String),
    /// Deliver a room's events to the connection. Carries the core's grant
    /// ([`crate::Backend::grant_subscription`]), not a room: the gateway refuses anything else.
    Subscribe(String),
    Unsubscribe(String),
    /// Close with a websocket close code and reason.
    Close(u16, String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub session: Session,
    pub actions: Vec<Action>,
}

impl Outcome {
    /// The session unchanged and nothing to do.
    pub fn nothing(session: Session) -> Self {
        Self {
            session,
            actions: Vec::new(),
        }
    }

    /// Handles `frames` in order with `handle`, each with the session the one before it left,
    /// and gathers their actions. Once a frame closes the connection, the rest are not handled:
    /// the client is being closed, and nothing after its close may happen on its behalf.
    pub fn of_frames(
        session: Session,
        frames: impl IntoIterator<Item = Frame>,
        mut handle: impl FnMut(Session, Frame) -> Outcome,
    ) -> Self {
        let mut all = Self::nothing(session);
        for frame in frames {
            let Outcome { session, actions } = handle(all.session, frame);
            all.session = session;
            let closes = actions.iter().any(|a| matches!(a, Action::Close(..)));
            all.actions.extend(actions);
            if closes {
                break;
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts frames in `data`, echoes each, and closes on "bye".
    fn counter(mut session: Session, frame: Frame) -> Outcome {
        let Frame::Text(text) = frame else {
            return Outcome::nothing(session);
        };
        let seen: u32 = session.data.parse().unwrap_or(0) + 1;
        session.data = seen.to_string();
        let mut actions = vec![Action::Send(format!("{seen}:{text}"))];
        if text == "bye" {
            actions.push(Action::Close(1000, "bye".into()));
        }
        Outcome { session, actions }
    }

    fn texts(texts: &[&str]) -> Vec<Frame> {
        texts.iter().map(|t| Frame::Text(t.to_string())).collect()
    }

    #[test]
    fn frames_see_the_session_the_one_before_left_and_answer_in_order() {
        let out = Outcome::of_frames(Session::default(), texts(&["a", "b", "c"]), counter);
        assert_eq!(out.session.data, "3");
        assert_eq!(
            out.actions,
            vec![
                Action::Send("1:a".into()),
                Action::Send("2:b".into()),
                Action::Send("3:c".into())
            ]
        );
    }

    #[test]
    fn nothing_is_handled_after_a_frame_that_closes() {
        let out = Outcome::of_frames(Session::default(), texts(&["a", "bye", "c"]), counter);
        assert_eq!(out.session.data, "2");
        assert_eq!(out.actions.last(), Some(&Action::Close(1000, "bye".into())));
        assert!(!out.actions.contains(&Action::Send("3:c".into())));
    }

    #[test]
    fn no_frames_change_nothing() {
        let session = Session {
            data: "7".into(),
            ..Session::default()
        };
        assert_eq!(
            Outcome::of_frames(session.clone(), Vec::new(), counter),
            Outcome::nothing(session)
        );
    }
}
