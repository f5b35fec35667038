//! The Rebuttal channel on a real lattice, per its client contract: the handshake with the
//! bootstrap admin and invites, groups and permissions (and every refusal without one), rooms,
//! messages with real PNG and JPEG uploads, history segments, edits and removals, user
//! administration, voice signalling between Rebuttal clients, bad packets, and messages crossing
//! to and from venueless.
//!
//! What upstream's web client (trigg/Rebuttal-Webapp) sends and needs has acts of its own, named
//! after the client behaviour each protects; they send the packets exactly as its `sender.ts`
//! writes them and check the fields its `protocol.ts` reads.
//!
//! One lattice for the whole story (a start costs about a minute); each act is a function run
//! in order on the same cast of clients. The acts live in the module of the client behaviour
//! they check:
//!
//! - `accounts`: the greeting, sign-up and invites, groups and permissions, logging in;
//! - `rooms`: text and voice rooms made and renamed;
//! - `messages`: messages, images, history segments, edits and removals of messages;
//! - `users`: created users, refusals without a permission, renames, who is connected;
//! - `voice`: voice rooms, WebRTC signalling, hanging up, closing while in a call;
//! - `removals`: removing a user, a group and a room;
//! - `cross_protocol`: messages to and from venueless;
//! - `bad_input`: unknown and malformed packets;
//! - `support`: the pickers, assertions and image files the acts share.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod bad_input;
mod cross_protocol;
mod messages;
mod removals;
mod rooms;
mod support;
mod users;
mod voice;

use anyhow::Result;
use common::rebuttal::Rebuttal;
use common::Wcc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuttal_administration_text_voice_and_cross_protocol() -> Result<()> {
    common::run_once(|wcc| Box::pin(scenario(wcc)))
        .await
        .map(drop)
}

async fn scenario(wcc: &Wcc) -> Result<()> {
    let mut cast = accounts::accounts_and_groups(wcc).await?;
    accounts::the_greeting_offers_protocol_v1_and_the_client_logs_in_with_it(wcc, &mut cast)
        .await?;
    accounts::a_wrong_password_closes_the_connection_with_3001(wcc).await?;
    rooms::rooms(&mut cast).await?;
    messages::messages_images_and_history(&mut cast).await?;
    messages::a_senders_first_message_to_a_room_arrives_once(&mut cast).await?;
    messages::messages_sent_without_waiting_arrive_in_order(&mut cast).await?;
    users::users_and_refusals(wcc, &mut cast).await?;
    voice::voice(&mut cast).await?;
    voice::webrtc_offers_and_watch_requests_reach_their_target_as_sent(&mut cast).await?;
    voice::hanging_up_without_a_room_id_leaves_the_voice_room(&mut cast).await?;
    removals::removals(wcc, &mut cast).await?;
    cross_protocol::cross_protocol(wcc, &mut cast).await?;
    bad_input::bad_packets(wcc, &mut cast).await?;
    voice::closing_leaves_the_voice_room(wcc, &mut cast).await?;
    users::signing_in_and_closing_show_in_everyones_user_list(wcc, &mut cast).await?;
    users::a_user_signed_in_on_another_protocol_shows_as_connected_until_that_socket_closes(
        wcc, &mut cast,
    )
    .await?;
    Ok(())
}

/// The clients and what the acts learn about them as the story goes.
struct Cast {
    /// The bootstrap admin (every permission).
    admin: Rebuttal,
    admin_id: String,
    /// Signed up with an invite to `members`.
    bob: Rebuttal,
    bob_id: String,
    /// Created by the admin (`createuser`); joins in `users_and_refusals`.
    carol: Option<Rebuttal>,
    carol_id: String,
    carol_password: String,
    /// The text room ("General", renamed "Main").
    room: String,
    /// The voice room ("Call").
    call: String,
}

impl Cast {
    fn carol(&mut self) -> &mut Rebuttal {
        self.carol.as_mut().expect("carol is logged in")
    }
}
