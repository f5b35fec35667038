//! The operator console end to end, in a real Chromium: the page wcc serves on its admin
//! listener, signed in with the admin token, watching a room while a venueless client talks in
//! it, broadcasting, removing a message, watching a user's direct messages while a Cadmium client
//! (Cadmium speaks private chats only) writes to them, and showing who is online and how each
//! gateway is doing. A wrong token is refused first.
//!
//! Screenshots (`console-refused.png`, `console-live.png`, `console-health.png`,
//! `console-overview.png`, and
//! `console-failed.png` when a step fails) go to the browser's state folder, printed at the end.

mod common;

use anyhow::{ensure, Context, Result};
use common::{browser::Browser, Observer, Wcc, ADMIN_TOKEN};
use serde_json::{json, Value};

const ROOM: &str = "town-hall";
const ROOM_NAME: &str = "Town Hall";
const BROADCAST: &str = "the server closes at midnight";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_watches_a_room_live_in_the_console() -> Result<()> {
    let wcc = common::run_once(|wcc| Box::pin(scenario(wcc))).await?;
    wcc.lattice.shutdown().await?;
    Ok(())
}

/// The browser's state folder: its profile, the driver's log and the screenshots. It lives in
/// cargo's folder for integration tests' files, so the screenshots outlive the run; each run
/// starts it afresh.
fn browser_state() -> Result<std::path::PathBuf> {
    let state = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console");
    if state.exists() {
        std::fs::remove_dir_all(&state)?;
    }
    Ok(state)
}

async fn scenario(wcc: &Wcc) -> Result<()> {
    let browser = Browser::start(&browser_state()?).await?;
    let outcome = steps(wcc, &browser).await;
    if outcome.is_err() {
        // What the operator saw when it went wrong; the error below is what matters.
        let _ = browser.screenshot("console-failed.png").await;
    }
    let state = browser.state().to_path_buf();
    browser.close().await?;
    println!(
        "browser state (screenshots, driver log): {}",
        state.display()
    );
    outcome
}

async fn steps(wcc: &Wcc, browser: &Browser) -> Result<()> {
    let nats = wcc.nats().await?;
    let mut observer = Observer::start(&nats).await?;

    the_admin_address_lands_on_the_console(wcc, browser)
        .await
        .context("the_admin_address_lands_on_the_console")?;
    a_wrong_token_is_refused(browser)
        .await
        .context("a_wrong_token_is_refused")?;
    the_admin_token_signs_in_and_the_feed_goes_live(browser)
        .await
        .context("the_admin_token_signs_in_and_the_feed_goes_live")?;
    a_room_created_in_the_console_is_listed_and_selected(wcc, browser)
        .await
        .context("a_room_created_in_the_console_is_listed_and_selected")?;
    let mut talk = a_venueless_message_appears_live(wcc, browser)
        .await
        .context("a_venueless_message_appears_live")?;
    a_broadcast_shows_in_the_room_and_reaches_venueless(browser, &mut talk)
        .await
        .context("a_broadcast_shows_in_the_room_and_reaches_venueless")?;
    a_removed_message_is_marked_and_venueless_hears_it(browser, &mut talk)
        .await
        .context("a_removed_message_is_marked_and_venueless_hears_it")?;
    a_cadmium_message_appears_live_in_the_direct_messages_it_went_to(wcc, browser, &mut talk)
        .await
        .context("a_cadmium_message_appears_live_in_the_direct_messages_it_went_to")?;
    people_online_and_gateway_health_are_shown(browser, &mut observer, &talk)
        .await
        .context("people_online_and_gateway_health_are_shown")?;
    disconnect_and_ban_reach_a_cadmium_user(wcc, browser, &mut talk)
        .await
        .context("disconnect_and_ban_reach_a_cadmium_user")?;
    Ok(())
}

/// The clients talking in the room, and what the console must show of them.
struct Talk {
    vera: common::Venueless,
    vera_id: String,
    /// Kept open so Carla stays online for the people panel.
    carla: Option<common::cadmium::Cadmium>,
    /// The event id of Vera's message in the room.
    vera_event: u64,
}

async fn the_admin_address_lands_on_the_console(wcc: &Wcc, browser: &Browser) -> Result<()> {
    browser.goto(&format!("http://{}/", wcc.admin)).await?;
    let url = browser.url().await?;
    ensure!(
        url == format!("http://{}/console/", wcc.admin),
        "the admin address redirects to the console, but the browser is at {url}"
    );
    browser.wait_visible("#sign-in").await?;
    ensure!(
        !browser.visible("#console").await?,
        "the console is hidden before signing in"
    );
    Ok(())
}

async fn a_wrong_token_is_refused(browser: &Browser) -> Result<()> {
    browser.fill("#token", "not-the-admin-token").await?;
    browser.click("#sign-in-button").await?;
    browser
        .wait_text("#sign-in-error", "\"refused\"", |text| {
            text.to_lowercase().contains("refused")
        })
        .await?;
    ensure!(
        !browser.visible("#console").await?,
        "a refused token does not open the console"
    );
    browser.screenshot("console-refused.png").await?;
    Ok(())
}

async fn the_admin_token_signs_in_and_the_feed_goes_live(browser: &Browser) -> Result<()> {
    record_feed_replies(browser).await?;
    browser.fill("#token", ADMIN_TOKEN).await?;
    browser.click("#sign-in-button").await?;
    browser.wait_visible("#console").await?;
    ensure!(
        !browser.visible("#sign-in").await?,
        "the sign-in form is hidden once signed in"
    );
    browser
        .wait_text("#feed-status", "live", |text| text == "live")
        .await?;
    Ok(())
}

/// Keeps the feed's replies (every frame but events) where the test can read them. Its only
/// use is to know when the console watches the selected room: a message sent before that
/// would reach the page through its history, not live, and the test could not tell which.
/// Installed before sign-in, when the page opens its feed.
async fn record_feed_replies(browser: &Browser) -> Result<()> {
    browser
        .eval(
            "if (window.wccFeedReplies) return; \
             window.wccFeedReplies = []; \
             const Native = window.WebSocket; \
             window.WebSocket = class extends Native { \
               constructor(...args) { \
                 super(...args); \
                 this.addEventListener('message', (e) => { \
                   let frame; \
                   try { frame = JSON.parse(e.data); } catch (_) { return; } \
                   if (frame.type !== 'event' && window.wccFeedReplies.length < 500) \
                     window.wccFeedReplies.push(frame); \
                 }); \
               } \
             };",
            vec![],
        )
        .await
        .map(drop)
}

async fn a_room_created_in_the_console_is_listed_and_selected(
    wcc: &Wcc,
    browser: &Browser,
) -> Result<()> {
    browser.fill("#new-room-id", ROOM).await?;
    browser.fill("#new-room-name", ROOM_NAME).await?;
    browser.click("#create-room").await?;
    let item = format!("#rooms li[data-room=\"{ROOM}\"]");
    browser
        .wait_text(&item, ROOM_NAME, |text| text.contains(ROOM_NAME))
        .await?;
    // The console creates it through the admin API, as curl would.
    let (status, room) = wcc.admin("GET", &format!("/rooms/{ROOM}"), None).await?;
    ensure!(
        status == 200 && room["name"] == ROOM_NAME,
        "the room the console created: {status} {room}"
    );

    browser.click(&item).await?;
    browser.wait_visible("#room").await?;
    browser
        .wait_text("#room-title", ROOM_NAME, |text| text == ROOM_NAME)
        .await?;
    watched_with_history(browser, ROOM).await?;
    let shown = browser
        .eval(
            "return document.querySelectorAll('#messages li.message').length;",
            vec![],
        )
        .await?;
    ensure!(shown == json!(0), "a new room shows no messages: {shown}");
    Ok(())
}

/// Waits until the feed watches `room` and the page has loaded its history: whatever appears in
/// `#messages` from then on came live.
async fn watched_with_history(browser: &Browser, room: &str) -> Result<()> {
    browser
        .wait_for(
            &format!("the feed to answer watching {room}"),
            "return (window.wccFeedReplies || []).some(\
               (f) => f.type === 'watching' && f.room === arguments[0]);",
            vec![json!(room)],
        )
        .await?;
    browser
        .wait_for(
            &format!("the history of {room} to load"),
            "return performance.getEntriesByType('resource').some(\
               (e) => e.name.includes('/rooms/' + arguments[0] + '/messages') \
                      && e.responseEnd > 0);",
            vec![json!(room)],
        )
        .await
        .map(drop)
}

async fn a_venueless_message_appears_live(wcc: &Wcc, browser: &Browser) -> Result<Talk> {
    let mut vera = wcc.venueless().await?;
    let vera_id = vera.login("client-vera", Some("Vera")).await?;
    let joined = vera.request("chat.join", json!({"channel": ROOM})).await?;
    ensure!(joined[0] == "success", "Vera joins {ROOM}: {joined}");
    let sent = vera
        .request(
            "chat.send",
            json!({"channel": ROOM, "event_type": "channel.message",
                   "content": {"type": "text", "body": "hello from venueless"}}),
        )
        .await?;
    ensure!(sent[0] == "success", "Vera's message: {sent}");
    let echo = vera
        .chat_event(|e| e["content"]["body"] == "hello from venueless")
        .await?;
    let vera_event = echo["event_id"].as_u64().context("an event id")?;

    let vera_row = shown_message(browser, "hello from venueless").await?;
    ensure!(
        vera_row.event_id == vera_event.to_string(),
        "Vera's message keeps its event id: {vera_row:?}, event {vera_event}"
    );
    ensure!(
        vera_row.channel == "venueless",
        "Vera's message came through venueless: {vera_row:?}"
    );
    // The page may show a sender by id or by display name.
    ensure!(
        vera_row.sender.contains(&vera_id) || vera_row.sender.contains("Vera"),
        "Vera ({vera_id}) sent it: {vera_row:?}"
    );
    let count = browser
        .eval(
            "return document.querySelectorAll('#messages li.message').length;",
            vec![],
        )
        .await?;
    ensure!(count == json!(1), "one message in {ROOM}, once: {count}");
    Ok(Talk {
        vera,
        vera_id,
        carla: None,
        vera_event,
    })
}

/// One row of `#messages` as the operator reads it.
#[derive(Debug)]
struct ShownMessage {
    event_id: String,
    sender: String,
    channel: String,
    class: String,
}

/// Waits for the message whose `.body` reads `body` in `#messages` and reads its row.
async fn shown_message(browser: &Browser, body: &str) -> Result<ShownMessage> {
    let row = browser
        .wait_for(
            &format!("a message reading {body:?} in #messages"),
            "const li = [...document.querySelectorAll('#messages li.message')].find(\
               (li) => li.querySelector('.body')?.textContent.trim() === arguments[0]); \
             if (!li) return null; \
             const text = (sel) => li.querySelector(sel)?.textContent.trim() ?? null; \
             return {event_id: li.dataset.eventId ?? null, sender: text('.sender'), \
                     channel: text('.channel'), class: li.className};",
            vec![json!(body)],
        )
        .await?;
    let field = |name: &str| row[name].as_str().unwrap_or_default().to_owned();
    Ok(ShownMessage {
        event_id: field("event_id"),
        sender: field("sender"),
        channel: field("channel"),
        class: field("class"),
    })
}

async fn scroll_into_view(browser: &Browser, selector: &str) -> Result<()> {
    browser
        .eval(
            "document.querySelector(arguments[0])?.scrollIntoView({block: 'center'});",
            vec![json!(selector)],
        )
        .await
        .map(drop)
}

async fn a_broadcast_shows_in_the_room_and_reaches_venueless(
    browser: &Browser,
    talk: &mut Talk,
) -> Result<()> {
    let text = BROADCAST;
    browser.fill("#broadcast-text", text).await?;
    browser.click("#broadcast-button").await?;
    let row = shown_message(browser, text).await?;
    ensure!(
        row.sender == "server",
        "a broadcast is sent by the server: {row:?}"
    );
    let heard = talk
        .vera
        .chat_event(|e| e["content"]["body"] == text)
        .await?;
    ensure!(
        heard["channel"] == ROOM && heard["sender"] == "server",
        "Vera hears the broadcast in {ROOM}: {heard}"
    );
    Ok(())
}

async fn a_removed_message_is_marked_and_venueless_hears_it(
    browser: &Browser,
    talk: &mut Talk,
) -> Result<()> {
    let row = format!(
        "#messages li.message[data-event-id=\"{}\"]",
        talk.vera_event
    );
    browser.click(&format!("{row} .remove")).await?;
    let question = browser.accept_dialog().await?;
    println!("the console asked: {question}");
    browser
        .wait_for(
            "Vera's message to be marked removed",
            "const li = document.querySelector(arguments[0]); \
             return !!li && li.classList.contains('removed') \
                    && li.querySelector('.body')?.textContent.trim() === 'removed';",
            vec![json!(row)],
        )
        .await?;
    let event = talk.vera_event;
    let heard = talk
        .vera
        .chat_event(|e| e["replaces"] == event && e["content"]["type"] == "deleted")
        .await?;
    ensure!(
        heard["channel"] == ROOM && heard["sender"] == Value::Null,
        "Vera hears her message removed: {heard}"
    );
    // Only that message: the broadcast stays as it was.
    let broadcast = shown_message(browser, BROADCAST).await?;
    ensure!(
        !broadcast.class.split_whitespace().any(|c| c == "removed"),
        "the broadcast is untouched: {broadcast:?}"
    );
    Ok(())
}

/// Cadmium speaks private chats only, so its messages go to users' direct rooms. The operator
/// opens Vera's direct messages from the people panel while Carla writes to her.
async fn a_cadmium_message_appears_live_in_the_direct_messages_it_went_to(
    wcc: &Wcc,
    browser: &Browser,
    talk: &mut Talk,
) -> Result<()> {
    let mut carla = wcc.cadmium().await?;
    carla.register("carla", "carla's passphrase").await?;
    let vera = &talk.vera_id;
    let open = format!("#people li[data-user=\"{vera}\"] .direct");
    browser.wait_visible(&open).await?;
    browser.click(&open).await?;
    browser
        .wait_text("#room-title", "Vera's direct messages", |text| {
            text.contains("Direct messages") && text.contains(vera.as_str())
        })
        .await?;
    watched_with_history(browser, vera).await?;

    let reply = carla
        .say(&format!("@{vera}@wcc.local"), "hello from cadmium")
        .await?;
    ensure!(reply["ok"] == true, "Carla's message to Vera: {reply}");
    let row = shown_message(browser, "hello from cadmium").await?;
    ensure!(
        row.channel == "cadmium",
        "Carla's message came through Cadmium: {row:?}"
    );
    ensure!(row.sender.contains("carla"), "Carla sent it: {row:?}");
    scroll_into_view(browser, "#messages").await?;
    browser.screenshot("console-live.png").await?;
    talk.carla = Some(carla);
    Ok(())
}

async fn people_online_and_gateway_health_are_shown(
    browser: &Browser,
    observer: &mut Observer,
    talk: &Talk,
) -> Result<()> {
    for (user, protocol) in [(talk.vera_id.as_str(), "venueless"), ("carla", "cadmium")] {
        let selector = format!("#people li[data-user=\"{user}\"] .channels");
        browser
            .wait_text(&selector, protocol, |text| text.contains(protocol))
            .await?;
        let count = format!("#online-counts li[data-channel=\"{protocol}\"]");
        let shown = browser
            .wait_text(&count, "a count", |text| {
                text.chars().any(|c| c.is_ascii_digit())
            })
            .await?;
        let number: String = shown.chars().filter(char::is_ascii_digit).collect();
        ensure!(
            number == "1",
            "one user online over {protocol}, the console says {shown:?}"
        );
    }

    // Each gateway's heartbeat (every 5 s) fills its row.
    let alive = observer.wait_for("GatewayAlive", |_| true).await?;
    let gateway = alive["data"]["gateway"]
        .as_str()
        .context("GatewayAlive names its gateway")?;
    // Its connections: the console's feed, Vera's and Carla's, all on the one gateway.
    let connections =
        format!("#health tr[data-gateway=\"{gateway}\"] [data-field=\"connections\"]");
    browser
        .wait_text(&connections, "3 connections or more", |text| {
            text.parse::<u64>().is_ok_and(|n| n >= 3)
        })
        .await?;
    browser.wait_visible("#health-chart").await?;
    scroll_into_view(browser, "#health").await?;
    browser.screenshot("console-health.png").await?;
    // The whole console as the operator left it (the README's picture).
    browser.eval("window.scrollTo(0, 0);", vec![]).await?;
    browser.screenshot("console-overview.png").await?;
    Ok(())
}

/// The operator disconnects Carla from the people panel, then bans her from the user lookup:
/// her Cadmium socket closes with 1008 (policy), her next sign-in is refused, and once the ban
/// is lifted she signs in again.
async fn disconnect_and_ban_reach_a_cadmium_user(
    wcc: &Wcc,
    browser: &Browser,
    talk: &mut Talk,
) -> Result<()> {
    const PASSWORD: &str = "carla's passphrase";
    let mut carla = talk.carla.take().context("Carla is online")?;
    let person = "#people li[data-user=\"carla\"]";
    scroll_into_view(browser, person).await?;
    browser.click(&format!("{person} .disconnect")).await?;
    let question = browser.accept_dialog().await?;
    ensure!(
        question.contains("carla"),
        "the console asks first: {question}"
    );
    let code = carla.closed_with().await?;
    ensure!(code == 1008, "Carla's socket closes with 1008, not {code}");
    browser
        .wait_text("#notice", "carla disconnected", |text| {
            text.contains("carla disconnected")
        })
        .await?;

    browser.fill("#lookup-id", "carla").await?;
    browser.click("#lookup-button").await?;
    browser
        .wait_text("#user-detail-banned", "not banned", |text| text == "no")
        .await?;
    browser.click("#user-detail-ban").await?;
    let question = browser.accept_dialog().await?;
    ensure!(
        question.contains("carla"),
        "the console asks first: {question}"
    );
    browser
        .wait_text("#user-detail-banned", "banned", |text| text == "yes")
        .await?;
    let mut again = wcc.cadmium().await?;
    let refused = again.login("carla", PASSWORD).await?;
    ensure!(
        refused["ok"] == false && refused["payload"]["errID"] == "unauthorized",
        "a banned user's sign-in is refused: {refused}"
    );

    // Lifting a ban asks nothing.
    browser.click("#user-detail-ban").await?;
    browser
        .wait_text("#user-detail-banned", "the ban lifted", |text| text == "no")
        .await?;
    let welcomed = again.login("carla", PASSWORD).await?;
    ensure!(welcomed["ok"] == true, "Carla signs in again: {welcomed}");
    Ok(())
}
