//! Sends that arrive together, stored together.
//!
//! When a connection's frames queued while its previous call ran, they reach the channel in
//! one call (`Channel::received_frames`). A protocol that splits its send in two halves
//! ([`TwoHalves`]: the rate limit and checks, then the answer) gets [`received_together`]: each
//! send among the frames goes through its first half, the ones that passed are stored with one
//! `process-messages` call into the core, and each is answered in its place, a refused one
//! too. Any other request first has the sends before it stored, so it sees them; one that
//! closes the connection is the last handled.

use wcc_interface::requests::MAX_MESSAGES_AT_ONCE;
use wcc_interface::{Failure, StoredMessage};

use crate::{Action, Backend, Frame, NewMessage, Outcome, Session};

/// A request after its first half.
pub enum Begun<P> {
    /// Carried out and answered.
    Done(Outcome),
    /// A send that passed the rate limit and the protocol's checks: its work so far (the
    /// session, and any frames before its answer), the message the core must store, and what
    /// answering it needs ([`TwoHalves::finish`]).
    Store(Outcome, NewMessage, P),
}

/// A protocol whose send is carried out in two halves around the store call.
pub trait TwoHalves {
    /// A frame as the protocol read it (a request, or why it could not be read).
    type Request;
    /// What answering a stored send needs (its request id…).
    type Pending;
    fn read(&self, frame: Frame) -> Self::Request;
    /// Whether `request` is a send that may be stored with the sends around it (one that never
    /// closes the connection).
    fn is_plain_send(&self, request: &Self::Request) -> bool;
    /// Takes the request's token, checks it and carries it out, up to the store of a send.
    fn begin(&self, session: Session, request: Self::Request) -> Begun<Self::Pending>;
    /// Answers a send with what the core made of its message.
    fn finish(
        &self,
        session: Session,
        pending: Self::Pending,
        stored: Result<StoredMessage, Failure>,
    ) -> Outcome;
}

/// One request carried out on its own: a send is stored alone (`process-message`).
pub fn handle_alone<T: TwoHalves>(
    protocol: &T,
    session: Session,
    request: T::Request,
    backend: &impl Backend,
) -> Outcome {
    match protocol.begin(session, request) {
        Begun::Done(outcome) => outcome,
        Begun::Store(so_far, msg, pending) => {
            let stored = backend.process_message(msg);
            let mut done = protocol.finish(so_far.session, pending, stored);
            done.actions.splice(0..0, so_far.actions);
            done
        }
    }
}

/// Frames that arrived together, in order: sends that follow each other are stored with one
/// call and answered in their places; anything else is handled alone once the sends before it
/// are stored. Nothing after a request that closes the connection is handled, as
/// [`Outcome::of_frames`] would have it.
pub fn received_together<T: TwoHalves>(
    protocol: &T,
    session: Session,
    frames: Vec<Frame>,
    backend: &impl Backend,
) -> Outcome {
    let mut run = SendRun::default();
    let mut all = Outcome::nothing(session);
    for frame in frames {
        let request = protocol.read(frame);
        if !protocol.is_plain_send(&request) {
            all = run.flush(protocol, all, backend);
            let Outcome { session, actions } =
                handle_alone(protocol, all.session, request, backend);
            all.session = session;
            let closes = actions.iter().any(|a| matches!(a, Action::Close(..)));
            all.actions.extend(actions);
            if closes {
                return all;
            }
            continue;
        }
        if run.msgs.len() == MAX_MESSAGES_AT_ONCE {
            all = run.flush(protocol, all, backend);
        }
        all.session = match protocol.begin(all.session, request) {
            Begun::Done(outcome) => {
                run.answered(outcome.actions);
                outcome.session
            }
            Begun::Store(so_far, msg, pending) => {
                run.answered(so_far.actions);
                run.waiting(msg, pending);
                so_far.session
            }
        };
    }
    run.flush(protocol, all, backend)
}

/// Sends waiting to be stored together, in arrival order, with the answers of refused ones in
/// their places.
struct SendRun<P> {
    in_order: Vec<Waiting<P>>,
    /// The messages of the `Stored` entries, in the same order.
    msgs: Vec<NewMessage>,
}

enum Waiting<P> {
    Answered(Vec<Action>),
    Stored(P),
}

impl<P> Default for SendRun<P> {
    fn default() -> Self {
        Self {
            in_order: Vec::new(),
            msgs: Vec::new(),
        }
    }
}

impl<P> SendRun<P> {
    /// Frames that answer a request of the run already (a refused send, or what a stored one
    /// queued before its answer).
    fn answered(&mut self, actions: Vec<Action>) {
        self.in_order.push(Waiting::Answered(actions));
    }

    fn waiting(&mut self, msg: NewMessage, pending: P) {
        self.in_order.push(Waiting::Stored(pending));
        self.msgs.push(msg);
    }

    /// Stores what waits with one call (a lone send as `process-message`, exactly as
    /// [`handle_alone`] would) and appends every answer to `all`, in order.
    fn flush<T: TwoHalves<Pending = P>>(
        &mut self,
        protocol: &T,
        mut all: Outcome,
        backend: &impl Backend,
    ) -> Outcome {
        let msgs = std::mem::take(&mut self.msgs);
        let stored = match msgs.len() {
            0 => Vec::new(),
            1 => msgs
                .into_iter()
                .map(|m| backend.process_message(m))
                .collect(),
            _ => backend.process_messages(msgs),
        };
        let mut stored = stored.into_iter();
        for waiting in std::mem::take(&mut self.in_order) {
            match waiting {
                Waiting::Answered(actions) => all.actions.extend(actions),
                Waiting::Stored(pending) => {
                    let result = stored
                        .next()
                        .unwrap_or_else(|| Err(Failure::unavailable("no answer for this message")));
                    let Outcome { session, actions } =
                        protocol.finish(all.session, pending, result);
                    all.session = session;
                    all.actions.extend(actions);
                }
            }
        }
        all
    }
}
