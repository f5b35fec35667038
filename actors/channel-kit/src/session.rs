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
}
