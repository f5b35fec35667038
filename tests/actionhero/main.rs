//! The actionhero channel on a real lattice: a TCP line client (what telnet does) and a
//! websocket client through every verb, answered in upstream's shapes, room join rules, room
//! deletion with members inside, the operator API (admin HTTP and the CLI), and chat crossing
//! to and from venueless; and the era's browser client (actionheroClient.js on Faye) frame for
//! frame over Bayeux at `/faye`.
//!
//! The first test is one story on one lattice, its steps run in order on the same two clients;
//! each Faye test has a lattice of its own. The steps live in the module of the client
//! behaviour they check:
//!
//! - `connections`: greetings, a connection's details, `quit` and `exit`;
//! - `rooms`: members, listening, join rules, leaving, a deleted room;
//! - `say`: lines crossing the transports and venueless;
//! - `params`: a connection's params, as verbs and as JSON;
//! - `actions`: actions' param checks, `status`, `documentation`;
//! - `operator`: the admin HTTP API and CLI;
//! - `bad_input`: lines that are no request, no UTF-8 or too long;
//! - `faye_handshakes`, `faye_chat`: the era's browser client;
//! - `support`: the assertions and pickers the steps share.

#[path = "../common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../common/faye.rs"]
mod faye;

mod actions;
mod bad_input;
mod connections;
mod faye_chat;
mod faye_handshakes;
mod operator;
mod params;
mod rooms;
mod say;
mod support;

use anyhow::Result;
use common::{actionhero::Actionhero, Wcc};

/// The story's two clients, and who they act as.
struct Clients {
    /// A TCP line client, as telnet sends lines.
    tel: Actionhero,
    /// The guest the line client acts as.
    tel_user: String,
    /// The line client's connection id.
    tel_connection: String,
    /// A websocket client.
    web: Actionhero,
    /// The guest the websocket client acts as.
    web_user: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actionhero_verbs_rooms_operator_api_and_cross_protocol_chat() -> Result<()> {
    common::run_once(|wcc| Box::pin(scenario(wcc)))
        .await
        .map(drop)
}

async fn scenario(wcc: &Wcc) -> Result<()> {
    operator::adding_a_room_says_whether_it_was_new(wcc).await?;
    let mut clients = connections::both_transports_greet_then_enter_the_lobby(wcc).await?;
    rooms::room_view_and_the_operators_status_agree(wcc, &mut clients).await?;
    let _vera = say::say_reaches_the_other_transport_and_venueless(wcc, &mut clients).await?;
    say::lines_typed_ahead_are_answered_and_heard_in_order(&mut clients).await?;
    rooms::listening_hears_a_room_without_joining_it(wcc, &mut clients).await?;
    params::params_with_the_line_clients_verbs(&mut clients).await?;
    rooms::join_rules_admit_by_login_and_by_transport(wcc, &mut clients).await?;
    operator::the_operator_moves_a_member(wcc, &mut clients).await?;
    rooms::leaving_a_room(wcc, &mut clients).await?;
    params::params_in_the_websocket_clients_json_form(&mut clients).await?;
    operator::the_operator_writes_to_one_connection(wcc, &mut clients).await?;
    rooms::a_deleted_room_leaves_its_members_unable_to_send(wcc, &mut clients).await?;
    bad_input::bad_lines_get_an_error_line(&mut clients).await?;
    actions::actions_check_their_params_and_describe_themselves(&mut clients).await?;
    bad_input::garbage_and_overlong_lines_get_an_error_line(&mut clients).await?;
    operator::the_admin_cli_speaks_the_same_api(wcc).await?;
    connections::quit_and_exit_say_goodbye(&mut clients).await?;
    Ok(())
}

/// `actionheroClient.connect()` against `/faye`: the handshake, the setup channel that names
/// the connection channel, a connect paced by its advice, the greeting on the connection
/// channel, and the `detailsView` the client sends once connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_era_browser_client_handshakes_over_faye() -> Result<()> {
    common::run_once(|wcc| Box::pin(faye_handshakes::handshakes(wcc)))
        .await
        .map(drop)
}

/// `actionheroClient.connect()` in a browser on the server's own page: Faye 1.0.4 sends its
/// handshake over HTTP (a JSON `POST` to `/faye`, its `long-polling` transport), takes the
/// client id from the answer and the websocket it advises, and carries on there with that id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_era_browser_client_handshakes_over_http_post() -> Result<()> {
    common::run_once(|wcc| Box::pin(faye_handshakes::handshakes_over_http(wcc)))
        .await
        .map(drop)
}

/// The same client on a page of another origin: Faye 1.0.4's handshake goes out as a script
/// (`callback-polling`: JSONP, the only cross-origin transport its handshake may use), and a
/// cross-origin `POST` (its `cross-origin-long-polling`, a form after a CORS preflight) is
/// answered too, readable by that origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_era_browser_client_handshakes_across_origins_with_jsonp_and_cors() -> Result<()> {
    common::run_once(|wcc| Box::pin(faye_handshakes::handshakes_across_origins(wcc)))
        .await
        .map(drop)
}

/// The browser client in a room with a telnet client: `roomChange`, `say` both ways, actions
/// (`register`, `login`), listening to another room, `roomLeave`; then the same client on a new
/// socket after its old one dropped, with no handshake there, as Faye carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_era_browser_client_chats_runs_actions_and_hears_its_room() -> Result<()> {
    common::run_once(|wcc| Box::pin(faye_chat::chats(wcc)))
        .await
        .map(drop)
}
